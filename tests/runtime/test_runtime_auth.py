"""Auth modes: rotating keys, signed tokens with expiry, mutual TLS; health stays open for probes."""

import os
import ssl
import subprocess
import sys
import time

import httpx
import pytest
from testkit import wait_until

SCORE = {"data": [[5.1, 3.5, 1.4, 0.2]]}


def bearer(value):
    return {"Authorization": f"Bearer {value}"}


def test_key_mode_rotation(start_server, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("primary-1\nsecondary-1\n")
    server = start_server("onnx.json", MODELCTL_AUTH_KEYS_FILE=keys, MODELCTL_AUTH_KEYS="")
    url = server.url + "/score"
    assert httpx.post(url, json=SCORE).status_code == 401
    r = httpx.post(url, json=SCORE, headers=bearer("wrong"))
    assert (
        r.status_code == 401
        and r.json()["error"] == "invalid key"
        and "bearer" in r.headers["www-authenticate"].lower()
    )
    assert httpx.post(url, json=SCORE, headers={"Authorization": "Basic cHJpbWFyeS0x"}).status_code == 401
    assert httpx.post(url, json=SCORE, headers=bearer("primary-1")).status_code == 200
    assert httpx.post(url, json=SCORE, headers=bearer("secondary-1")).status_code == 200
    for path in ("/metrics", "/openapi.json", "/v2", "/v2/models/iris-onnx", "/v2/models/iris-onnx/ready"):
        assert httpx.get(server.url + path).status_code == 401, path
    # health endpoints stay open for Docker HEALTHCHECK and Kubernetes probes
    assert httpx.get(server.url + "/v2/health/live").status_code == 200
    assert httpx.get(server.url + "/v2/health/ready").status_code == 200
    # rotate: the secondary becomes primary, a new secondary appears, the old primary is gone
    keys.write_text("secondary-1\nprimary-2\n")
    os.utime(keys, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    wait_until(
        lambda: httpx.post(url, json=SCORE, headers=bearer("primary-1")).status_code == 401,
        timeout=5,
        interval=0.2,
        message="the old key is refused after the rotation (it is still accepted)",
    )
    assert httpx.post(url, json=SCORE, headers=bearer("secondary-1")).status_code == 200
    assert httpx.post(url, json=SCORE, headers=bearer("primary-2")).status_code == 200


def test_token_mode(start_server, tmp_path, image_dir):
    sys.path.insert(0, str(image_dir / "pkg"))
    from modelctl_runtime.tokens import mint_token

    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-for-tests\n")
    server = start_server("onnx.json", MODELCTL_AUTH_MODE="token", MODELCTL_TOKEN_SECRET_FILE=secret)
    url = server.url + "/score"
    good = mint_token("s3cr3t-for-tests", "ci", 60)
    assert httpx.post(url, json=SCORE, headers=bearer(good)).status_code == 200
    expired = mint_token("s3cr3t-for-tests", "ci", 60, now=time.time() - 120)
    r = httpx.post(url, json=SCORE, headers=bearer(expired))
    assert r.status_code == 401 and "expired" in r.json()["error"]
    forged = mint_token("another-secret", "ci", 60)
    r = httpx.post(url, json=SCORE, headers=bearer(forged))
    assert r.status_code == 401 and "signature" in r.json()["error"]
    tampered = good.rsplit(".", 1)[0] + "." + "A" * 43
    assert httpx.post(url, json=SCORE, headers=bearer(tampered)).status_code == 401
    assert httpx.post(url, json=SCORE, headers=bearer("not.a.token")).status_code == 401
    infer = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
    only_sk = mint_token("s3cr3t-for-tests", "ci", 60, models=["iris-sk"])
    r = httpx.post(server.url + "/v2/models/iris-onnx/infer", headers=bearer(only_sk), json=infer)
    assert r.status_code == 403 and "iris-onnx" in r.json()["error"]
    only_onnx = mint_token("s3cr3t-for-tests", "ci", 60, models=["iris-onnx"])
    assert (
        httpx.post(server.url + "/v2/models/iris-onnx/infer", headers=bearer(only_onnx), json=infer).status_code == 200
    )
    # the command-line minter makes tokens the server accepts
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelctl_runtime.tokens",
            "--secret-file",
            str(secret),
            "--subject",
            "cli",
            "--ttl",
            "30",
        ],
        env={"PYTHONPATH": str(image_dir / "pkg")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert httpx.post(url, json=SCORE, headers=bearer(out)).status_code == 200


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate and a client certificate made with the openssl CLI."""
    d = tmp_path_factory.mktemp("pki")

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    )
    for name in ("server", "client"):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-copy_extensions",
            "copy",
        )
    return d


def test_mtls_mode(start_server, pki, image_dir):
    ctx_ok = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    ctx_ok.load_cert_chain(pki / "client.pem", pki / "client.key")
    env = dict(
        MODELCTL_AUTH_MODE="mtls",
        MODELCTL_TLS_CERT_FILE=pki / "server.pem",
        MODELCTL_TLS_KEY_FILE=pki / "server.key",
        MODELCTL_TLS_CLIENT_CA_FILE=pki / "ca.pem",
    )
    server = start_server("onnx.json", scheme="https", client_kw={"verify": ctx_ok}, **env)
    r = httpx.post(server.url + "/score", json=SCORE, verify=ctx_ok)
    assert r.status_code == 200 and r.json() == {"predictions": [0]}
    ctx_no_cert = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.post(server.url + "/score", json=SCORE, verify=ctx_no_cert)
    # the image health check presents the server's own CA-issued certificate
    hc_env = {
        "PYTHONPATH": str(image_dir / "pkg"),
        "MODELCTL_PORT": str(server.port),
        "PATH": "/usr/bin:/bin",
        **{k: str(v) for k, v in env.items()},
    }
    assert subprocess.run([sys.executable, "-m", "modelctl_runtime.healthcheck"], env=hc_env).returncode == 0
