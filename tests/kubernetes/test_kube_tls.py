"""TLS on a kubernetes target, applied on the real control plane: a deployment's pods mount the TLS
Secret by name (the Service speaks HTTPS on 443), and an endpoint with tls gets its own Gateway whose
HTTPS listener references the Secret with `certificateRefs`; no certificate or key is in any object."""

from __future__ import annotations

import base64
import json

import pytest
from kube_support import KubeRepo, call, ok
from testkit import changes
from tlskit import Pki

ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: web}
spec: {target: prod, path: /iris, hostnames: [models.example.com], traffic: {blue: 100}, tls: {secretRef: web-tls}}
"""


@pytest.fixture
def repo(tmp_path, kube_cluster, kubelet, namespace):
    repo = KubeRepo.create(tmp_path / "repo", kube_cluster, namespace)
    text = (repo.root / "modelctl.yaml").read_text()
    repo.write(
        "modelctl.yaml",
        text.replace("namespace: " + namespace + "}", f"namespace: {namespace}, gatewayClass: public}}"),
    )
    repo.deployment("blue", extra="  tls: {secretRef: blue-tls}\n")
    repo.register_image()
    return repo


def _tls_secret(api, ns: str, name: str, cert: bytes, key: bytes) -> None:  # noqa: ANN001
    data = {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}
    body = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls", "metadata": {"name": name}, "data": data}
    ok(call(api, "POST", f"/api/v1/namespaces/{ns}/secrets", body))


def test_pods_mount_the_secret_and_the_endpoint_gateway_references_it(repo, kube_api):
    ns = repo.namespace
    plan = None
    with pytest.raises(Exception, match="secret.* blue-tls not found"):  # the Secret is the cluster's: plan says so
        plan = repo.plan()
    assert plan is None
    pki = Pki.create()
    cert, key = pki.issue("blue", sans=("blue", f"blue.{ns}.svc", "models.example.com"))
    for name in ("blue-tls", "web-tls"):
        _tls_secret(kube_api, ns, name, cert, key)
    repo.write("endpoints/web.yaml", ENDPOINT)
    plan, outcome = repo.apply()
    assert changes(plan) == {"Deployment/blue": "create", "Endpoint/web": "create"}
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]

    dep = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))
    pod = dep["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "tls"]
    assert volume["secret"]["secretName"] == "blue-tls"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["MODELCTL_TLS_CERT_FILE"] == "/var/run/secrets/modelctl/tls/tls.crt"
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    svc = ok(call(kube_api, "GET", f"/api/v1/namespaces/{ns}/services/blue"))
    assert [(p["name"], p["port"]) for p in svc["spec"]["ports"]] == [("https", 443)]

    gateway = ok(call(kube_api, "GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/gateways/web"))
    assert gateway["spec"]["gatewayClassName"] == "public"
    [listener] = gateway["spec"]["listeners"]
    assert (listener["protocol"], listener["port"]) == ("HTTPS", 443)
    assert listener["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": "web-tls"}]
    route = ok(call(kube_api, "GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/web"))
    assert route["spec"]["parentRefs"][0]["name"] == "web" and route["spec"]["parentRefs"][0]["sectionName"] == "https"
    assert [(b["name"], b["port"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [("blue", 443)]
    for obj in (dep, svc, gateway, route):
        assert "BEGIN" not in json.dumps(obj) and base64.b64encode(key).decode() not in json.dumps(obj)
    assert changes(repo.plan()) == {}

    repo.remove("endpoints/web.yaml")
    plan, outcome = repo.apply()
    assert changes(plan) == {"Endpoint/web": "delete"} and outcome is not None and outcome.ok
    status, _ = call(kube_api, "GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/gateways/web")
    assert status == 404
