"""validate on `tls.secretRef`: a missing secret, a key that does not match, names not covered, an
expired certificate are errors at the `tls` key naming the secret; one expiring within 30 days is a
warning (which the plan lists). Certificates are made with `cryptography` (tests/tlskit.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tlskit import Pki, write_secret

from compiler.pipeline import compile_repo

DEP = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: dev
spec:
  image: scorer
  target: local
  auth: {mode: AUTH}
  tls: {secretRef: dev-tls}
"""
ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata:
  name: web2
spec:
  target: local
  traffic: {dev: 100}
  hostnames: [models.example.com]
  tls:
    secretRef: web-tls
"""


@pytest.fixture(scope="module")
def pki():
    return Pki.create()


def _repo(make_repo, auth: str = "key", endpoint: bool = False):  # noqa: ANN001, ANN202
    files = {"deployments/dev.yaml": DEP.replace("AUTH", auth)}
    if endpoint:
        files["endpoints/web2.yaml"] = ENDPOINT
    return make_repo(files)


def _tls(diags, severity: str = "error"):  # noqa: ANN001, ANN202
    return [
        (d.location.file, d.location.line, d.location.col, d.message)
        for d in diags
        if d.code.startswith("tls-") and d.severity == severity
    ]


def test_a_valid_certificate_passes(make_repo, pki):
    root = _repo(make_repo, "mtls")
    write_secret(root, "dev-tls", *pki.issue("dev"), pki.ca_pem)
    assert _tls(compile_repo(root).diagnostics) == []
    assert compile_repo(root).ok


def test_a_missing_secret_is_an_error_at_the_tls_key(make_repo):
    root = _repo(make_repo)
    assert _tls(compile_repo(root).diagnostics) == [
        (
            "deployments/dev.yaml",
            9,
            3,
            "tls secret 'dev-tls' not found: .modelctl/secrets/dev-tls/ needs tls.crt and tls.key",
        )
    ]


def test_a_key_that_does_not_match_is_refused_by_the_cli(make_repo, pki):
    root = _repo(make_repo)
    cert, _ = pki.issue("dev")
    _, other_key = pki.issue("other")
    write_secret(root, "dev-tls", cert, other_key)
    assert _tls(compile_repo(root).diagnostics) == [
        ("deployments/dev.yaml", 9, 3, "tls secret 'dev-tls': tls.key does not match the certificate in tls.crt")
    ]
    cli = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "validate", str(root)], capture_output=True, text=True
    )
    assert cli.returncode == 1
    assert (
        "deployments/dev.yaml:9:3: error: tls secret 'dev-tls': tls.key does not match the certificate in tls.crt"
        in cli.stdout
    ), cli.stdout + cli.stderr
    assert "Traceback" not in cli.stderr and "PRIVATE KEY" not in cli.stdout + cli.stderr


def test_expired_uncovered_and_mtls_without_ca(make_repo, pki):
    root = _repo(make_repo, "mtls", endpoint=True)
    write_secret(root, "dev-tls", *pki.issue("dev", days=-1))  # expired yesterday, and no ca.crt
    write_secret(root, "web-tls", *pki.issue("web", sans=("127.0.0.1", "other.example.com")), pki.ca_pem)
    errors = _tls(compile_repo(root).diagnostics)
    messages = [m for *_, m in errors]
    assert any(m.startswith("tls secret 'dev-tls': the certificate expired on ") for m in messages), messages
    assert "tls secret 'dev-tls': auth mode mtls needs ca.crt (the CA client certificates are checked against)" in (
        messages
    )
    assert (
        "endpoints/web2.yaml",
        9,
        3,
        "tls secret 'web-tls': the certificate's names (other.example.com, 127.0.0.1) do not cover models.example.com",
    ) in errors


def test_the_bind_address_must_be_covered(make_repo, pki):
    root = _repo(make_repo)
    write_secret(root, "dev-tls", *pki.issue("dev", sans=("localhost",)))
    assert [m for *_, m in _tls(compile_repo(root).diagnostics)] == [
        "tls secret 'dev-tls': the certificate's names (localhost) do not cover 127.0.0.1"
    ]


def test_expiry_within_30_days_is_a_warning(make_repo, pki):
    root = _repo(make_repo)
    write_secret(root, "dev-tls", *pki.issue("dev", days=10))
    result = compile_repo(root)
    assert result.ok
    [(file, line, col, message)] = _tls(result.diagnostics, "warning")
    assert (file, line, col) == ("deployments/dev.yaml", 9, 3)
    assert message.startswith("the certificate of tls secret 'dev-tls' expires in 10 days (")
    write_secret(root, "dev-tls", *pki.issue("dev", days=45))
    assert _tls(compile_repo(root).diagnostics, "warning") == []


def test_docker_mtls_needs_tls_and_an_endpoint_over_mtls_too(make_repo, pki):
    root = make_repo(
        {
            "deployments/dev.yaml": DEP.replace("AUTH", "mtls").replace("  tls: {secretRef: dev-tls}\n", ""),
            "endpoints/web2.yaml": ENDPOINT.replace("  tls:\n    secretRef: web-tls\n", ""),
        }
    )
    codes = [(d.location.file, d.code) for d in compile_repo(root).diagnostics if d.severity == "error"]
    assert ("deployments/dev.yaml", "docker-mtls") in codes and ("endpoints/web2.yaml", "docker-mtls") in codes


def test_kubernetes_secrets_live_in_the_cluster(make_repo):
    """No local copy: nothing to check (the Secret is the cluster's); a local copy is checked."""
    root = make_repo({"deployments/dev.yaml": DEP.replace("AUTH", "key").replace("target: local", "target: prod")})
    assert _tls(compile_repo(root).diagnostics) == []
    write_secret(root, "dev-tls", b"not a certificate", b"nor a key")
    assert [m for *_, m in _tls(compile_repo(root).diagnostics)] == [
        "tls secret 'dev-tls': tls.crt is not a PEM certificate"
    ]
