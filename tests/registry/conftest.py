"""Registry fixtures: every `registry` test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from compiler.registry import open_registry


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/registry.db"
    return request.getfixturevalue("postgres_url")  # tests/conftest.py: a fresh database per test


class FakeClock:
    """A controllable clock: tests can ask what an alias pointed to 'last Tuesday'."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # a Tuesday

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
