"""The oci:// bundle store on the real registry: a tag per revision beside the moving tag, a rollback
re-pushes a revision under the moving tag with its mark, unpublishing removes every revision."""

from __future__ import annotations

import uuid

import httpx
import pytest

from compiler.errors import ApplyError
from compiler.targets.publish.bundles import OciBundles
from compiler.targets.publish.location import OciLocation

ACCEPT = {"Accept": "application/vnd.oci.image.manifest.v1+json"}


def marker(fp: str, at: str) -> dict:
    return {
        "managedBy": "modelctl",
        "workspace": "team",
        "resource": "Deployment/cam",
        "target": "factory",
        "fingerprint": fp,
        "imageRef": "r/scorer:1",
        "spec": {"image": "scorer"},
        "preventDestroy": False,
        "publishedAt": at,
    }


def tags(registry: str, repo: str) -> list[str]:
    found = httpx.get(f"http://{registry}/v2/{repo}/tags/list")
    return sorted(found.json().get("tags") or []) if found.status_code == 200 else []


def test_revisions_are_tags_and_a_rollback_moves_the_deployment_tag(oci_registry, tmp_path):
    repo = f"bundles-{uuid.uuid4().hex[:8]}"
    source = tmp_path / "rendered"
    source.mkdir()
    store = OciBundles(OciLocation(f"oci://{oci_registry}/{repo}"), "team")
    try:
        (source / "deployment.json").write_text('{"priority": 1}')
        store.put("cam", source, marker("aaaa1111", "2026-01-01T00:00:00+00:00"))
        (source / "deployment.json").write_text('{"priority": 2}')
        store.put("cam", source, marker("bbbb2222", "2026-01-02T00:00:00+00:00"))
        assert tags(oci_registry, repo) == ["cam", "cam.aaaa1111", "cam.bbbb2222"]
        [current] = store.list()  # revision tags are not bundles of their own
        assert (current.name, current.marker["fingerprint"], current.rollback) == ("cam", "bbbb2222", None)
        assert [b.marker["fingerprint"] for b in store.revisions("cam")] == ["bbbb2222", "aaaa1111"]

        mark = {"from": "bbbb2222", "to": "aaaa1111", "at": "2026-01-03T00:00:00+00:00", "by": "alice", "run": "r"}
        store.repoint("cam", "aaaa1111", mark)
        [current] = store.list()
        assert (current.marker["fingerprint"], current.intact, current.rollback) == ("aaaa1111", True, mark)
        pulled = httpx.get(f"http://{oci_registry}/v2/{repo}/manifests/cam", headers=ACCEPT).json()
        title = {layer["annotations"]["org.opencontainers.image.title"]: layer["digest"] for layer in pulled["layers"]}
        blob = httpx.get(f"http://{oci_registry}/v2/{repo}/blobs/{title['deployment.json']}", follow_redirects=True)
        assert blob.json() == {"priority": 1}  # what a device pulling the deployment's tag gets now
        with pytest.raises(ApplyError, match="is not kept"):
            store.repoint("cam", "cccc3333", mark)

        store.remove("cam")
        assert tags(oci_registry, repo) == [] and store.list() == []
    finally:
        store.close()
