"""`modelctl monitor` against a runtime in auth mode token: it sends a short-lived token minted from
the signing secret, never the secret, and the runtime refuses the secret itself as a bearer token."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.monitor.credentials import TOKEN_SUBJECT, bearer_credential, token_ttl
from compiler.registry import open_registry
from compiler.runtime.tokens import verify_token

REPO = Path(__file__).resolve().parents[2]
SECRET = "monitor-signing-secret-0123456789"


@pytest.fixture
def token_server(start_server, tmp_path):
    secret_file = tmp_path / "token-secret"
    secret_file.write_text(SECRET + "\n")
    return start_server("onnx.json", MODELCTL_AUTH_MODE="token", MODELCTL_TOKEN_SECRET_FILE=secret_file)


@pytest.mark.parametrize("raw", [SECRET, "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.c2lnbmF0dXJl"])
def test_the_runtime_refuses_its_signing_secret_as_a_bearer_token(start_server, tmp_path, raw):
    """The secret is for signing; sent as the credential (even one shaped like a JWT) it is a 401 JSON."""
    secret_file = tmp_path / "token-secret"
    secret_file.write_text(raw + "\n")
    server = start_server("onnx.json", MODELCTL_AUTH_MODE="token", MODELCTL_TOKEN_SECRET_FILE=secret_file)
    for path in ("/metrics", "/v2"):
        r = httpx.get(server.url + path, headers={"Authorization": f"Bearer {raw}"})
        assert r.status_code == 401, (path, r.status_code)
        assert r.headers["content-type"].startswith("application/json") and r.json()["error"]
        assert "bearer" in r.headers["www-authenticate"].lower()


def test_a_monitor_token_is_signed_short_lived_and_does_not_carry_the_secret():
    token = bearer_credential("token", f"\n{SECRET}\nold-secret\n", token_ttl(5))
    assert token is not None and SECRET not in token
    claims = verify_token(token, SECRET.encode())
    assert claims["sub"] == TOKEN_SUBJECT and claims["exp"] - claims["iat"] == token_ttl(5) <= 5 + 60
    assert bearer_credential("key", "primary\nsecondary\n", 65) == "primary"
    assert bearer_credential("token", "  \n", 65) is None and bearer_credential("none", SECRET, 65) is None


def test_monitor_with_a_token_secret_file_scrapes_a_token_mode_runtime(token_server, tmp_path):
    secret_file = tmp_path / "token-secret"
    result = CliRunner().invoke(
        app,
        ["monitor", "--url", token_server.url, "--token-secret-file", str(secret_file), "--interval", "0", "--json"],
    )
    assert result.exit_code == 0, result.output
    assert "traffic" in json.loads(result.output) and SECRET not in result.output
    both = ["--key-file", str(secret_file), "--token-secret-file", str(secret_file)]
    result = CliRunner().invoke(app, ["monitor", "--url", token_server.url, *both, "--interval", "0"])
    assert result.exit_code == 1 and "not both" in result.output


def test_monitor_by_name_mints_a_token_from_the_deployments_secret(token_server, tmp_path):
    """The registry gives the URL and the deployment's auth secret is the signing secret: the scrape
    must succeed, which the raw secret cannot (test above)."""
    repo = tmp_path / "iris"
    shutil.copytree(REPO / "examples" / "iris", repo, ignore=shutil.ignore_patterns(".modelctl"))
    dep = repo / "deployments" / "iris-local.yaml"
    text = dep.read_text()
    for old, new in [
        ("auth: {mode: key, secretRef: iris-keys}", "auth: {mode: token, secretRef: iris-signing}"),
        ("dataCollection: {enabled: true, sampling: 0.5}", "dataCollection: {enabled: false}"),
    ]:
        assert old in text
        text = text.replace(old, new)
    dep.write_text(text)
    secrets = repo / ".modelctl" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "iris-signing").write_text(SECRET + "\n")
    model = tmp_path / "m.joblib"
    model.write_bytes(b"x")
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", repo) as reg:
        reg.register_model("iris", model, framework="sklearn")
        reg.register_image("iris-scorer", fingerprint="f1", models=[("iris", 1)], environment="curated/sklearn")
        reg.record_deployment("iris-local", "local", "iris-scorer", 1, token_server.url, "d1")

    result = CliRunner().invoke(app, ["monitor", "iris-local", "--repo", str(repo), "--interval", "0", "--json"])
    assert result.exit_code == 0, result.output
    assert "traffic" in json.loads(result.output) and SECRET not in result.output
