"""Kubernetes manifests: upstream schema validation, labels, security context, secrets by reference."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


K8S_VERSION = "1.32.0"  # the kubectl on this machine is v1.32; schemas ship inside kubernetes-validate
HTTPROUTE_SCHEMA = json.loads((Path(__file__).parent / "schemas" / "httproute-v1.json").read_text())
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _objects(out: Path) -> list[dict]:
    docs = []
    for path in sorted((out / "kubernetes").rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


@pytest.mark.parametrize("case", ["iris", "iris-prod"])
def test_every_object_validates_against_upstream_schemas(rendered, case):
    objects = _objects(rendered[case])
    kinds = sorted({o["kind"] for o in objects})
    assert kinds == [
        "Deployment",
        "HTTPRoute",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    ]
    for obj in objects:
        if obj["kind"] == "HTTPRoute":
            jsonschema.validate(obj, HTTPROUTE_SCHEMA, cls=jsonschema.Draft202012Validator)
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_upstream_validation_catches_a_broken_object(rendered):
    deployment = next(o for o in _objects(rendered["iris"]) if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    route = next(o for o in _objects(rendered["iris"]) if o["kind"] == "HTTPRoute")
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(route, HTTPROUTE_SCHEMA)


def test_labels_are_recommended_and_valid(rendered):
    for obj in _objects(rendered["iris"]):
        labels, notes = obj["metadata"]["labels"], obj["metadata"]["annotations"]
        assert labels["app.kubernetes.io/managed-by"] == "modelctl"
        for key in ("name", "instance", "component", "part-of"):
            assert labels[f"app.kubernetes.io/{key}"]
        assert all(LABEL_VALUE.match(v) and len(v) <= 63 for v in labels.values()), labels
        resource = notes["modelctl.io/resource"]
        assert resource == f"{labels['modelctl.io/kind']}/{labels['modelctl.io/name']}"
        assert re.fullmatch(r"[0-9a-f]{64}", notes["modelctl.io/fingerprint"])


def test_fingerprint_annotations_match_graph(rendered):
    graph = compile_repo(Path(__file__).parents[2] / "examples" / "iris").require()
    for obj in _objects(rendered["iris"]):
        notes = obj["metadata"]["annotations"]
        assert notes["modelctl.io/fingerprint"] == graph.get(notes["modelctl.io/resource"]).fingerprint


def test_pods_are_locked_down(rendered):
    for obj in _objects(rendered["iris"]):
        if obj["kind"] != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert (
            sc["readOnlyRootFilesystem"]
            and not sc["allowPrivilegeEscalation"]
            and sc["capabilities"]["drop"] == ["ALL"]
        )
        assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
        assert container["resources"]["requests"]["cpu"]


def test_traffic_split_and_mirror(copy_example, tmp_path):
    repo = copy_example("iris")
    write(
        repo / "endpoints" / "iris.yaml",
        """apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: iris}
spec:
  target: prod
  path: /iris
  hostnames: [iris.example.com]
  traffic: {iris-blue: 70, iris-green: 30}
  mirror: {deployment: iris-green, percent: 5}
""",
    )
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    (route,) = [o for o in _objects(tmp_path / "out") if o["kind"] == "HTTPRoute"]
    jsonschema.validate(route, HTTPROUTE_SCHEMA)
    (rule,) = route["spec"]["rules"]
    assert {b["name"]: b["weight"] for b in rule["backendRefs"]} == {"iris-blue": 70, "iris-green": 30}
    (mirror,) = rule["filters"]
    assert mirror["type"] == "RequestMirror"
    assert mirror["requestMirror"]["backendRef"]["name"] == "iris-green" and mirror["requestMirror"]["percent"] == 5
    assert route["spec"]["hostnames"] == ["iris.example.com"]
    assert route["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public", "namespace": "gateways"}
    ]


def test_secrets_only_by_reference(copy_example, tmp_path):
    repo = copy_example("iris")
    text = (repo / "deployments" / "iris-prod.yaml").read_text()
    text = text.replace(
        "  lifecycle: {preventDestroy: true}",
        "  lifecycle: {preventDestroy: true}\n  secretEnv:\n    DB_PASSWORD: {secretRef: iris-db, key: password}",
    )
    (repo / "deployments" / "iris-prod.yaml").write_text(text)
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    deployment = next(
        o for o in _objects(tmp_path / "out") if o["kind"] == "Deployment" and o["metadata"]["name"] == "iris-blue"
    )
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    pod = deployment["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["DB_PASSWORD"] == {
        "name": "DB_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "iris-db", "key": "password"}},
    }
    assert env["MODELCTL_AUTH_KEYS_FILE"]["value"].startswith("/var/run/secrets/")
    secret_volumes = [v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v]
    assert secret_volumes == ["iris-keys"]
    assert "kind: Secret" not in "".join(p.read_text() for p in (tmp_path / "out").rglob("*.yaml"))
