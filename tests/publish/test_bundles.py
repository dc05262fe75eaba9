"""The file:// bundle store: atomic swaps, markers, ownership, tampering, and where it may write."""

from __future__ import annotations

import json
import os

import pytest

from compiler.errors import ApplyError, PlanError
from compiler.targets.publish.bundles import KEEP_REVISIONS, FileBundles
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
    # the swap left nothing but the kept revisions
    assert sorted(p.name for p in (tmp_path / "repo/published").iterdir()) == [".revisions", "cam"]
    assert sorted(p.name for p in (tmp_path / "repo/published/.revisions/cam").iterdir()) == ["f1", "f2"]
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
    (tmp_path / "pub/.revisions/cam/.new-dead").mkdir(parents=True)
    store.put("cam", source, marker())
    assert sorted(p.name for p in (tmp_path / "pub").iterdir()) == [".revisions", "cam"]
    assert [p.name for p in (tmp_path / "pub/.revisions/cam").iterdir()] == ["f1"]


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


def test_every_publish_keeps_the_earlier_revisions_and_a_rollback_repoints(tmp_path, source):
    pub = tmp_path / "pub"
    store = FileBundles(FileLocation(pub), "team")
    store.put("cam", source, {**marker("aaaa1111"), "publishedAt": "2026-01-01T00:00:00+00:00"})
    (source / "deployment.json").write_text('{"priority": 2}')
    store.put("cam", source, {**marker("bbbb2222"), "publishedAt": "2026-01-02T00:00:00+00:00"})
    assert [b.marker["fingerprint"] for b in store.revisions("cam")] == ["bbbb2222", "aaaa1111"]  # newest first
    # the current pointer is one symlink, relative, inside the folder
    assert (pub / "cam").is_symlink() and os.readlink(pub / "cam") == ".revisions/cam/bbbb2222"
    [current] = store.list()
    assert current.marker["fingerprint"] == "bbbb2222" and current.rollback is None

    mark = {"from": "bbbb2222", "to": "aaaa1111", "at": "2026-01-03T00:00:00+00:00", "by": "alice", "run": "r1"}
    store.repoint("cam", "aaaa1111", mark)
    [current] = store.list()
    assert (current.marker["fingerprint"], current.intact, current.rollback) == ("aaaa1111", True, mark)
    assert json.loads((pub / "cam/deployment.json").read_text()) == {"priority": 1}  # what a device reads
    # publishing from git again (rolling forward) clears the mark
    store.put("cam", source, {**marker("bbbb2222"), "publishedAt": "2026-01-04T00:00:00+00:00"})
    [current] = store.list()
    assert (current.marker["fingerprint"], current.rollback) == ("bbbb2222", None)


def test_a_rollback_refuses_an_unknown_or_tampered_revision(tmp_path, source):
    pub = tmp_path / "pub"
    store = FileBundles(FileLocation(pub), "team")
    store.put("cam", source, marker("aaaa1111"))
    store.put("cam", source, marker("bbbb2222"))
    with pytest.raises(ApplyError, match="revision cccc3333 is not kept"):
        store.repoint("cam", "cccc3333", {})
    (pub / ".revisions/cam/aaaa1111/deployment.json").write_text("{}")
    with pytest.raises(ApplyError, match="changed since it was published; refusing"):
        store.repoint("cam", "aaaa1111", {})
    assert os.readlink(pub / "cam") == ".revisions/cam/bbbb2222"


def test_old_revisions_are_pruned_but_the_newest_are_kept(tmp_path, source):
    store = FileBundles(FileLocation(tmp_path / "pub"), "team")
    for i in range(KEEP_REVISIONS + 3):
        store.put("cam", source, {**marker(f"{i:04x}"), "publishedAt": f"2026-01-01T00:00:{i:02d}+00:00"})
    kept = [b.marker["fingerprint"] for b in store.revisions("cam")]
    assert kept == [f"{i:04x}" for i in reversed(range(3, KEEP_REVISIONS + 3))]


def test_a_bundle_published_by_an_earlier_version_becomes_a_revision(tmp_path, source):
    pub = tmp_path / "pub"
    (pub / "cam").mkdir(parents=True)  # the earlier layout: the bundle itself in <folder>/<deployment>/
    (pub / "cam/deployment.json").write_text('{"priority": 1}')
    (pub / "cam/modelctl.json").write_text(json.dumps({**marker("aaaa1111"), "files": {}}))
    store = FileBundles(FileLocation(pub), "team")
    store.put("cam", source, marker("bbbb2222"))
    assert sorted(b.marker["fingerprint"] for b in store.revisions("cam")) == ["aaaa1111", "bbbb2222"]
    assert os.readlink(pub / "cam") == ".revisions/cam/bbbb2222"


def test_a_pointer_leading_out_of_the_folder_is_never_read_through(tmp_path, source):
    outside = tmp_path / "outside"
    FileBundles(FileLocation(outside), "team").put("cam", source, marker("aaaa1111"))
    pub = tmp_path / "pub"
    pub.mkdir()
    os.symlink(outside / "cam", pub / "cam")
    assert FileBundles(FileLocation(pub), "team").list() == []
