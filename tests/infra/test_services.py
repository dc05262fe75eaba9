"""Smoke tests of the real services from scripts/services.sh and of the fixtures in tests/conftest.py."""

from __future__ import annotations

import hashlib
import io
import json
import random
import socket
import subprocess
import tarfile
import uuid
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


def build_context(files: dict[str, str]) -> io.BytesIO:
    """An in-memory tar build context."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Docker engine and base image ------------------------------------------------------------


def test_engine_runs_python_in_base_image(docker_client, base_image):
    n = random.randint(1000, 9999)
    code = f"import ssl, venv, sys; print({n} * 3, sys.version_info.major, ssl.OPENSSL_VERSION.split()[0])"
    output = docker_client.containers.run(base_image, ["python3", "-c", code], remove=True, network_mode="none")
    assert output.decode().split() == [str(n * 3), "3", "OpenSSL"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_base_image_builds_venv_with_pip_and_runs_as_non_root(docker_client, base_image):
    dockerfile = f"""
FROM {base_image}
RUN useradd --create-home --uid 10001 app \\
 && python3 -m venv /opt/venv \\
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check six
USER app
CMD ["/opt/venv/bin/python", "-c", "import os, six; print(os.getuid(), six.__name__)"]
"""
    tag = f"modelctl-infra-test/venv:{uuid.uuid4().hex[:8]}"
    image, _ = docker_client.images.build(
        fileobj=build_context({"Dockerfile": dockerfile}), custom_context=True, tag=tag, rm=True, forcerm=True
    )
    try:
        output = docker_client.containers.run(tag, remove=True, network_mode="none")
        assert output.decode().split() == ["10001", "six"]
    finally:
        docker_client.images.remove(image.id, force=True)


# --- OCI registry ----------------------------------------------------------------------------


def test_push_then_read_manifest_by_digest(docker_client, oci_registry):
    token = uuid.uuid4().hex
    context = build_context({"Dockerfile": "FROM scratch\nCOPY token.txt /token.txt\n", "token.txt": token})
    repository, tag = f"{oci_registry}/modelctl-infra-test/smoke", token[:12]
    image, _ = docker_client.images.build(fileobj=context, custom_context=True, tag=f"{repository}:{tag}", rm=True)
    try:
        events = list(docker_client.images.push(repository, tag=tag, stream=True, decode=True))
        errors = [event["error"] for event in events if "error" in event]
        assert not errors, errors
        digest = next(event["aux"]["Digest"] for event in events if "Digest" in event.get("aux", {}))

        url = f"http://{oci_registry}/v2/modelctl-infra-test/smoke/manifests/{digest}"
        response = httpx.get(url, headers={"Accept": MANIFEST_TYPES}, timeout=10)
        assert response.status_code == 200
        assert response.headers["Docker-Content-Digest"] == digest
        assert "sha256:" + hashlib.sha256(response.content).hexdigest() == digest
        manifest = json.loads(response.content)
        assert manifest["config"]["digest"] == image.id  # the image we built, not another one
        assert len(manifest["layers"]) == 1
        httpx.delete(url, timeout=10)  # best effort: deletion may be disabled
    finally:
        docker_client.images.remove(image.id, force=True)


# --- PostgreSQL ------------------------------------------------------------------------------


def test_postgres_gives_each_test_a_fresh_database(postgres_url):
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            name, user = connection.execute(sa.text("SELECT current_database(), current_user")).one()
            assert name == sa.make_url(postgres_url).database and name.startswith("modelctl_t_")
            assert user == "modelctl"
            tables = connection.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar_one()
            assert tables == 0
            connection.execute(sa.text("CREATE TABLE runs (id int PRIMARY KEY, label text)"))
            connection.execute(sa.text("INSERT INTO runs VALUES (1, 'a'), (2, 'b')"))
            assert (
                connection.execute(sa.text("SELECT string_agg(label, ',' ORDER BY id) FROM runs")).scalar_one() == "a,b"
            )
    finally:
        engine.dispose()


def test_postgres_role_may_end_other_sessions_so_teardown_can_drop_with_force(postgres_url):
    # DROP DATABASE ... WITH (FORCE) also ends autovacuum workers, which belong to no role;
    # without pg_signal_backend that teardown failed at random on CI.
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            member = connection.execute(
                sa.text("SELECT pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')")
            ).scalar_one()
        assert member is True
    finally:
        engine.dispose()


# --- the fixtures' rules ---------------------------------------------------------------------


@pytest.mark.parametrize("ci, outcome", [("true", "fail"), ("1", "fail"), ("", "skip"), (None, "skip")])
def test_missing_service_fails_on_ci_and_skips_elsewhere(service_helpers, monkeypatch, ci, outcome):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match=r"scripts/services\.sh up"):
        service_helpers.on_missing_service("OCI registry", "connection refused")


def test_probes_report_unreachable_services_without_secrets(service_helpers):
    port = free_port()  # nothing listens here
    assert "127.0.0.1" in service_helpers.probe_registry(f"127.0.0.1:{port}")
    engine, reason = service_helpers.probe_postgres(f"postgresql+psycopg://modelctl:s3cret-pw@127.0.0.1:{port}/x")
    assert engine is None
    assert "s3cret-pw" not in reason and str(port) in reason


def test_settings_come_from_env_then_env_file(service_helpers, monkeypatch, tmp_path):
    env_file = tmp_path / "services.env"
    env_file.write_text("MODELCTL_TEST_REGISTRY=10.1.2.3:5999\n")
    monkeypatch.setattr(service_helpers, "ENV_FILE", env_file)
    monkeypatch.delenv("MODELCTL_TEST_REGISTRY", raising=False)
    assert service_helpers.service_setting("MODELCTL_TEST_REGISTRY") == "10.1.2.3:5999"
    monkeypatch.setenv("MODELCTL_TEST_REGISTRY", "127.0.0.1:6001")
    assert service_helpers.service_setting("MODELCTL_TEST_REGISTRY") == "127.0.0.1:6001"


def test_fixtures_mark_the_tests_that_use_them(request, oci_registry):
    assert request.node.get_closest_marker("registry") is not None


# --- scripts/services.sh ---------------------------------------------------------------------


def test_services_status_reports_every_service_up(docker_client, oci_registry, base_image, postgres_url):
    result = subprocess.run(
        ["bash", str(REPO / "scripts/services.sh"), "status"], capture_output=True, text=True, timeout=60
    )
    states = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines() if line.strip()}
    assert states == {"docker": "up", "registry": "up", "postgres": "up", "base-image": "up"}, result
    assert result.returncode == 0
