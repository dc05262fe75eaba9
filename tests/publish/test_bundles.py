"""The file:// bundle store: atomic swaps, markers, ownership, tampering, and where it may write."""

from __future__ import annotations

import json

import pytest

from compiler.errors import ApplyError, PlanError
from compiler.targets.publish.bundles import FileBundles
from compiler.targets.publish.location import FileLocation, OciLocation, parse_location


@pytest.fixture
def source(tmp_path):
    folder = tmp_path / "rendered"
    folder.mkdir()
    (folder / "deployment.json").write_text('{"priority": 1}')
    (folder / "SHA256SUMS").write_text("x  deployment.json\n")
    return folder


def marker(fp: str = "f1") -> dict:
    return {
        "managedBy": "modelctl",
        "workspace": "team",
        "resource": "Deployment/cam",
        "target": "factory",
        "fingerprint": fp,
        "imageRef": "r/scorer:1",
        "spec": {"image": "scorer"},
        "preventDestroy": False,
    }


def test_put_list_replace_and_remove(tmp_path, source):
    store = FileBundles(FileLocation(tmp_path / "repo/published"), "team")
    assert store.list() == []
    where = store.put("cam", source, marker("f1"))
    [bundle] = store.list()
    assert (bundle.name, bundle.intact, bundle.marker["fingerprint"], bundle.where) == ("cam", True, "f1", where)
    assert sorted(bundle.marker["files"]) == ["SHA256SUMS", "deployment.json"]
    (source / "deployment.json").write_text('{"priority": 2}')
    store.put("cam", source, marker("f2"))
    [bundle] = store.list()
    assert bundle.marker["fingerprint"] == "f2" and bundle.intact
    assert json.loads((tmp_path / "repo/published/cam/deployment.json").read_text()) == {"priority": 2}
    assert sorted(p.name for p in (tmp_path / "repo/published").iterdir()) == ["cam"]  # the swap left nothing
    store.remove("cam")
    assert store.list() == [] and list((tmp_path / "repo/published").iterdir()) == []


def test_a_file_changed_by_hand_makes_the_bundle_not_intact(tmp_path, source):
    store = FileBundles(FileLocation(tmp_path / "pub"), "team")
    store.put("cam", source, marker())
    (tmp_path / "pub/cam/deployment.json").write_text("{}")
    assert [b.intact for b in store.list()] == [False]
    (tmp_path / "pub/cam/extra.txt").write_text("added")
    (tmp_path / "pub/cam/deployment.json").write_text('{"priority": 1}')
    assert [b.intact for b in store.list()] == [False]


def test_leftovers_of_an_interrupted_swap_are_invisible_and_swept(tmp_path, source):
    store = FileBundles(FileLocation(tmp_path / "pub"), "team")
    (tmp_path / "pub/.cam.new-dead").mkdir(parents=True)
    (tmp_path / "pub/.cam.old-dead").mkdir()
    assert store.list() == []
    store.put("cam", source, marker())
    assert sorted(p.name for p in (tmp_path / "pub").iterdir()) == ["cam"]


def test_only_our_bundles_are_listed_replaced_or_removed(tmp_path, source):
    pub = tmp_path / "pub"
    (pub / "theirs").mkdir(parents=True)
    (pub / "theirs/file.txt").write_text("not ours")
    FileBundles(FileLocation(pub), "other-team").put("cam", source, {**marker(), "workspace": "other-team"})
    store = FileBundles(FileLocation(pub), "team")
    assert store.list() == []
    with pytest.raises(ApplyError, match="not a bundle modelctl published for workspace team"):
        store.put("theirs", source, marker())
    with pytest.raises(ApplyError, match="not a bundle modelctl published for workspace team"):
        store.remove("cam")
    assert (pub / "theirs/file.txt").read_text() == "not ours" and (pub / "cam/modelctl.json").exists()


@pytest.mark.parametrize(
    "publish, error",
    [
        ("file://../outside", "escapes the repo"),
        ("file:///etc/edge", "absolute path"),
        ("s3://bucket/edge", "must start with file:// or oci://"),
        ("oci://127.0.0.1:5000", "needs oci://HOST"),
    ],
)
def test_publish_locations_stay_in_the_repo_or_go_to_a_registry(tmp_path, publish, error):
    with pytest.raises(PlanError, match=error):
        parse_location(publish, tmp_path, "factory")


def test_publish_locations_that_are_fine(tmp_path):
    assert parse_location("file://out/edge", tmp_path, "f") == FileLocation((tmp_path / "out/edge").resolve())
    assert parse_location("oci://127.0.0.1:5000/edge/", tmp_path, "f") == OciLocation("oci://127.0.0.1:5000/edge")
