"""A `file://` data-collection sink on Kubernetes: an emptyDir at the sink's own absolute folder (a relative
`file://dir`, `/tmp` itself and the auth folder are refused by validate, tests/spec/test_broken_repos.py),
and the Pod stays valid."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

K8S_VERSION = "1.32.0"


def _pod_of(out, name: str) -> tuple[dict, dict]:
    for path in sorted((out / "kubernetes").rglob("*.yaml")):
        for obj in yaml.safe_load_all(path.read_text()):
            if obj and obj["kind"] == "Deployment" and obj["metadata"]["name"] == name:
                return obj, obj["spec"]["template"]["spec"]
    raise AssertionError(f"no Deployment {name}")


@pytest.mark.parametrize("sink", ["file:///data/collected/", "file:///var/lib/modelctl/collected", "file:///tmp/c"])
def test_a_file_sink_mounts_its_folder_and_the_pod_is_valid(copy_example, tmp_path, sink):
    repo = copy_example("iris")
    path = repo / "deployments" / "iris-prod.yaml"
    text = path.read_text()
    old = "dataCollection: {enabled: true, sampling: 0.1}"
    assert old in text
    path.write_text(text.replace(old, f"dataCollection: {{enabled: true, sampling: 0.1, sink: '{sink}'}}"))
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    deployment, pod = _pod_of(tmp_path / "out", "iris-blue")
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)
    (container,) = pod["containers"]
    paths = [m["mountPath"] for m in container["volumeMounts"]]
    assert len(paths) == len(set(paths)), f"two volumes mounted at one path: {paths}"
    assert all(p.startswith("/") for p in paths)
    collected = next(m for m in container["volumeMounts"] if m["name"] == "collected")
    assert collected["mountPath"] == sink.removeprefix("file://")
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert json.loads(env["MODELCTL_DATA_COLLECTION"])["sink"] == sink


def test_an_http_sink_mounts_nothing(copy_example, tmp_path):
    repo = copy_example("iris")
    path = repo / "deployments" / "iris-prod.yaml"
    path.write_text(
        path.read_text().replace(
            "dataCollection: {enabled: true, sampling: 0.1}",
            "dataCollection: {enabled: true, sampling: 0.1, sink: 'https://collector.example.com/ingest'}",
        )
    )
    render_graph(compile_repo(repo).require(), tmp_path / "out", types=TARGET_TYPES)
    _deployment, pod = _pod_of(tmp_path / "out", "iris-blue")
    assert "collected" not in {v["name"] for v in pod["volumes"]}
