"""Fixtures for the real services started by `bash scripts/services.sh up`.

Settings come from the environment, else from /var/lib/modelctl-ci/services.env.
A missing service fails the test when CI is set (any non-empty value) and skips it otherwise.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

ENV_FILE = Path(os.environ.get("MODELCTL_SERVICES_ENV", "/var/lib/modelctl-ci/services.env"))
DEFAULTS = {
    "MODELCTL_TEST_REGISTRY": "127.0.0.1:5000",
    "MODELCTL_TEST_POSTGRES_URL": "postgresql+psycopg://modelctl:modelctl@127.0.0.1:5432/modelctl_test",
    "MODELCTL_TEST_BASE_IMAGE": "modelctl/python-base:bookworm",
}
START_HINT = "start it with: sudo bash scripts/services.sh up"
# Tests that use these fixtures get the marker, so `-m "not docker"` etc. deselects them.
# Captured at import: pytest imports every tests/**/conftest.py as "conftest", so a later lookup
# of sys.modules[__name__] may find another area's conftest.
_THIS_MODULE = sys.modules[__name__]
FIXTURE_MARKERS = {
    "docker_client": "docker",
    "base_image": "docker",
    "oci_registry": "registry",
    "postgres_url": "postgres",
}


def service_setting(name: str) -> str:
    """A setting from the environment, else services.env, else the documented default."""
    if os.environ.get(name):
        return os.environ[name]
    if ENV_FILE.is_file():
        for line in ENV_FILE.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == name:
                return value.strip()
    return DEFAULTS[name]


def missing_service_outcome(env: dict[str, str] | os._Environ) -> str:
    """'fail' on CI (CI set to any non-empty value), else 'skip'."""
    return "fail" if env.get("CI") else "skip"


def on_missing_service(service: str, reason: str) -> None:
    """Stop the current test because `service` is unavailable (never returns)."""
    message = f"{service} is not available ({reason}); {START_HINT}"
    if missing_service_outcome(os.environ) == "fail":
        pytest.fail(f"{message} [CI is set: service tests must not be skipped]", pytrace=False)
    pytest.skip(message)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, marker in FIXTURE_MARKERS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def probe_docker():
    """(client, None) when the engine answers, else (None, reason)."""
    import docker

    try:
        client = docker.from_env(timeout=30)
        client.ping()
    except Exception as exc:  # the SDK raises several unrelated types for "no engine"
        return None, f"Docker engine: {exc}"
    return client, None


def probe_registry(address: str) -> str | None:
    """None when GET http://ADDRESS/v2/ answers 200, else the reason."""
    import httpx

    try:
        response = httpx.get(f"http://{address}/v2/", timeout=3)
    except httpx.HTTPError as exc:
        return f"GET http://{address}/v2/: {exc}"
    return None if response.status_code == 200 else f"GET http://{address}/v2/ answered {response.status_code}"


def probe_postgres(url: str):
    """(AUTOCOMMIT engine, None) when PostgreSQL answers at `url`, else (None, reason)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        return (
            None,
            f"PostgreSQL at {sa.make_url(url).render_as_string(hide_password=True)}: {exc.__class__.__name__}: {exc.orig or exc}",
        )
    return engine, None


@pytest.fixture(scope="session")
def docker_client():
    client, reason = probe_docker()
    if client is None:
        on_missing_service("Docker engine", reason)
    yield client
    client.close()


@pytest.fixture(scope="session")
def oci_registry() -> str:
    """host:port of a plain-HTTP OCI registry (no auth) that the Docker engine can push to."""
    address = service_setting("MODELCTL_TEST_REGISTRY")
    reason = probe_registry(address)
    if reason:
        on_missing_service("OCI registry", reason)
    return address


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    """Name of the local Python base image (Debian bookworm minbase + python3, venv, pip)."""
    import docker

    name = service_setting("MODELCTL_TEST_BASE_IMAGE")
    try:
        docker_client.images.get(name)
    except docker.errors.ImageNotFound:
        on_missing_service("base image", f"image {name} is missing")
    return name


@pytest.fixture(scope="session")
def _postgres_admin():
    engine, reason = probe_postgres(service_setting("MODELCTL_TEST_POSTGRES_URL"))
    if engine is None:
        on_missing_service("PostgreSQL", reason)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(_postgres_admin) -> str:
    """SQLAlchemy URL of a fresh, empty database owned by the test role; dropped afterwards."""
    import sqlalchemy as sa

    name = f"modelctl_t_{uuid.uuid4().hex[:12]}"
    with _postgres_admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield _postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    # FORCE ends sessions still in the database, autovacuum workers included (the role holds
    # pg_signal_backend, granted by scripts/services.sh).
    with _postgres_admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def service_helpers():
    """This module, so that tests/infra can test the helpers above directly."""
    return _THIS_MODULE
