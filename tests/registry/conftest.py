"""Registry fixtures: every `registry` test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from compiler.registry import open_registry

ENV_FILE = Path("/var/lib/modelctl-ci/services.env")
DEFAULT_PG = "postgresql+psycopg://modelctl:modelctl@127.0.0.1:5432/modelctl_test"


def _service_missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _fallback_postgres_url(request: pytest.FixtureRequest):  # noqa: ANN202
    """Used only while tests/conftest.py has no `postgres_url`: a fresh database per test."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get("MODELCTL_TEST_POSTGRES_URL")
    if not base and ENV_FILE.exists():
        for line in ENV_FILE.read_text().splitlines():
            if line.startswith("MODELCTL_TEST_POSTGRES_URL="):
                base = line.split("=", 1)[1]
    url = make_url(base or DEFAULT_PG)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"registry_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _service_missing(f"PostgreSQL not reachable at {url.render_as_string()}: {exc}")

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    request.addfinalizer(drop)
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.db"
    try:
        return request.getfixturevalue("postgres_url")
    except pytest.FixtureLookupError:
        return _fallback_postgres_url(request)


class FakeClock:
    """A controllable clock: tests can ask what an alias pointed to 'last Tuesday'."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)   # a Tuesday

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def registry(registry_url: str, tmp_path: Path, clock: FakeClock):  # noqa: ANN201
    with open_registry(registry_url, "file://artifacts", tmp_path, clock=clock) as reg:
        yield reg


@pytest.fixture
def make_file(tmp_path: Path):  # noqa: ANN201
    """make_file("a.joblib", b"...") → a file under tmp_path/src."""
    def make(name: str, data: bytes) -> Path:
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path
    return make
