"""HTTPS and mTLS on a docker target, on the real engine: the router serves the secret's certificate
(made with the exact openssl commands of docs/tls.md) on a deployment's and an endpoint's port,
refuses a client without a certificate in the handshake, scores 200 for one issued by the CA, and
serves a rotated certificate after a graceful reload — no container replaced, the plan warning
that the new one expires in 10 days. tritonclient over HTTPS makes the same calls as over HTTP."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from testkit import changes
from tlskit import Pki, run_docs_ca, served_certificate

MTLS_DEPLOYMENT = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: blue}
spec:
  image: scorer
  target: local
  resources: {cpu: "1", memory: 512Mi}
  auth: {mode: mtls}
  tls: {secretRef: iris-tls}
  probes: {readiness: {periodSeconds: 1, failureThreshold: 3}}
"""

ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: web}
spec: {target: local, traffic: {blue: 100}, tls: {secretRef: iris-tls}}
"""

ROWS = {"data": [[5.1, 3.5, 1.4, 0.2]]}
REFUSED = (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)


def _leaf(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def test_https_mtls_and_rotation_without_restart(workspace, tmp_path):
    ws = workspace
    pki = run_docs_ca(tmp_path / "pki")
    shutil.copytree(pki / ".modelctl/secrets/iris-tls", ws.root / ".modelctl/secrets/iris-tls")
    ws.write("deployments/blue.yaml", MTLS_DEPLOYMENT)
    ws.write("endpoints/web.yaml", ENDPOINT)
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    dep_url, ep_url = ws.url("blue"), ws.plan().action("Endpoint/web").change.url
    assert dep_url.startswith("https://127.0.0.1:") and ep_url.startswith("https://127.0.0.1:")
    [before] = ws.backends("blue")
    ca = (pki / "ca.crt").read_bytes()
    with_cert = ssl.create_default_context(cadata=ca.decode())
    with_cert.load_cert_chain(pki / "client.crt", pki / "client.key")
    without_cert = ssl.create_default_context(cadata=ca.decode())
    other = Pki.create("another CA")
    cert, key = other.issue("stranger")
    (tmp_path / "stranger.crt").write_bytes(cert)
    (tmp_path / "stranger.key").write_bytes(key)
    stranger = ssl.create_default_context(cadata=ca.decode())
    stranger.load_cert_chain(tmp_path / "stranger.crt", tmp_path / "stranger.key")

    for url in (dep_url, ep_url):
        assert httpx.post(url + "/score", json=ROWS, verify=with_cert).status_code == 200
        with pytest.raises(REFUSED) as refused:
            httpx.post(url + "/score", json=ROWS, verify=without_cert)
        assert "CERTIFICATE_REQUIRED" in str(refused.value).upper()  # the handshake's alert, not an HTTP answer
        with pytest.raises(REFUSED):  # TLS 1.2: the handshake itself fails
            tls12 = ssl.create_default_context(cadata=ca.decode())
            tls12.maximum_version = ssl.TLSVersion.TLSv1_2
            httpx.get(url + "/v2/health/ready", verify=tls12)
        assert _leaf(served_certificate(*_host_port(url))) == _leaf((pki / "tls.crt").read_bytes())
        # a certificate from another CA: nginx answers 400 without reaching the model
        assert httpx.post(url + "/score", json=ROWS, verify=stranger).status_code == 400
    cli = ws.cli("deployments", "list", ".")
    assert dep_url in cli.stdout, cli.stdout + cli.stderr
    status = ws.cli("deployments", "status", "blue", "--repo", ".")
    assert "TLS ok, client certificate required (mtls)" in status.stdout, status.stdout + status.stderr
    endpoints = ws.cli("endpoints", "list", ".")
    assert ep_url in endpoints.stdout, endpoints.stdout + endpoints.stderr
    assert not ws.plan().has_changes

    # tritonclient over HTTPS (client certificate): the calls of the HTTP conformance test
    client = triton.InferenceServerClient(
        dep_url.removeprefix("https://"), ssl=True, ssl_context_factory=lambda: with_cert
    )
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "modelctl-runtime"
    assert client.is_model_ready("iris")
    inp = triton.InferInput("features", [2, 4], "FP32")
    inp.set_data_from_numpy(np.array([[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], dtype=np.float32))
    got = client.infer("iris", [inp], outputs=[triton.InferRequestedOutput("label")]).as_numpy("label")
    assert list(got) == [0, 2]
    client.close()

    # Rotation: a new server certificate from the same CA, valid 10 days, under the same secret name.
    subprocess.run(
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost "
        "-addext subjectAltName=IP:127.0.0.1 -keyout new.key -out new.csr && "
        "openssl x509 -req -in new.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 10 "
        "-copy_extensions copy -out new.crt",
        shell=True,
        cwd=pki,
        check=True,
        capture_output=True,
    )
    secret = ws.root / ".modelctl/secrets/iris-tls"
    (secret / "tls.crt").write_bytes((pki / "new.crt").read_bytes())
    (secret / "tls.key").write_bytes((pki / "new.key").read_bytes())
    plan = ws.plan()
    assert changes(plan) == {"Deployment/blue": "update", "Endpoint/web": "update"}
    for resource in ("Deployment/blue", "Endpoint/web"):
        assert plan.action(resource).reasons == (
            "router: certificate of tls secret 'iris-tls' changed: graceful reload, no container replaced",
        )
    assert any("tls secret 'iris-tls' expires in 10 days" in w for w in plan.warnings), plan.warnings
    shown = ws.cli("plan", ".")
    assert "graceful reload, no container replaced" in shown.stdout and "expires in 10 days" in shown.stdout
    new_key = (pki / "new.key").read_text()
    assert new_key not in shown.stdout + shown.stderr

    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert [c.id for c in ws.backends("blue")] == [before.id]  # no container replaced, none restarted
    before.reload()
    assert before.attrs["State"]["StartedAt"] == ws.backends("blue")[0].attrs["State"]["StartedAt"]
    for url in (dep_url, ep_url):
        assert _leaf(served_certificate(*_host_port(url))) == _leaf((pki / "new.crt").read_bytes())
        assert httpx.post(url + "/score", json=ROWS, verify=with_cert).status_code == 200
    assert not ws.plan().has_changes
    # the key never reached the route files, their headers or a label: only the TLS volume has it
    router = next(c for c in ws.docker.containers.list() if c.name.endswith("_router") and ws.name in c.name)
    routes = router.exec_run(["sh", "-c", "cat /etc/modelctl-router/routes/*.conf"]).output.decode()
    assert "BEGIN" not in routes and new_key.splitlines()[1] not in routes
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in routes and "ssl_verify_client on;" in routes
    listing = router.exec_run(["sh", "-c", "ls -ln /etc/modelctl-router/tls/certs/*/"]).output.decode()
    assert listing.count("-rw------- 1 10002 10002") == 3, listing  # one folder for both routes: 3 files
    folders = router.exec_run(["ls", "-ln", "/etc/modelctl-router/tls/certs"]).output.decode().splitlines()[1:]
    assert len(folders) == 1 and folders[0].startswith("drwx------ 2 10002 10002"), folders  # the old one pruned


def test_plain_https_deployment_with_key_auth(workspace, tmp_path):
    """TLS without mtls: HTTPS verified with the CA, the bearer key still checked by the scorer."""
    ws = workspace
    pki = run_docs_ca(tmp_path / "pki")
    shutil.copytree(pki / ".modelctl/secrets/iris-tls", ws.root / ".modelctl/secrets/iris-tls")
    text = (ws.root / "deployments/blue.yaml").read_text()
    ws.write("deployments/blue.yaml", text.replace("  probes:", "  tls: {secretRef: iris-tls}\n  probes:"))
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    url = ws.url("blue")
    ca = ssl.create_default_context(cafile=str(Path(pki / "ca.crt")))
    key = {"Authorization": f"Bearer {ws.key()}"}
    assert httpx.post(url + "/score", json=ROWS, headers=key, verify=ca).status_code == 200
    assert httpx.post(url + "/score", json=ROWS, verify=ca).status_code == 401
    with pytest.raises(httpx.ConnectError):  # a client that does not trust the CA
        httpx.get(url + "/v2/health/ready")
    assert httpx.get(url.replace("https://", "http://") + "/v2/health/ready", timeout=2).status_code == 400
    status = ws.cli("deployments", "status", "blue", "--repo", ".")
    assert "HTTP 200" in status.stdout, status.stdout + status.stderr  # verified with the secret's CA
