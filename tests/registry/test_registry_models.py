"""Model registration, lookup, search, aliases, archive and delete — on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from datetime import timedelta
from pathlib import Path

import pytest

from compiler.registry import DigestMismatch, InUse, InvalidArgument, InvalidName, NotFound
from compiler.registry.artifacts import source_digest


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_versions_count_up_and_same_content_is_a_noop(registry, make_file):
    v1, created1 = registry.register_model("iris", make_file("m.joblib", b"one"), framework="sklearn")
    again, created_again = registry.register_model("iris", make_file("m.joblib", b"one"), framework="sklearn")
    v2, _ = registry.register_model("iris", make_file("m.joblib", b"two"), framework="sklearn")
    assert (v1.version, created1) == (1, True)
    assert (again.version, created_again) == (1, False)
    assert v2.version == 2 and v2.digest == sha(b"two") and v1.digest == sha(b"one")
    assert source_digest(make_file("m.joblib", b"two")) == v2.digest
    # Only the *latest* version's content is a no-op: going back to old content is a new version.
    v3, created3 = registry.register_model("iris", make_file("m.joblib", b"one"), framework="sklearn")
    assert (v3.version, created3) == (3, True)
    # Versions are per name.
    other, _ = registry.register_model("wine", make_file("m.joblib", b"one"), framework="sklearn")
    assert other.version == 1
    assert registry.get_model("iris").version == 3
    assert registry.get_model("iris", 2).digest == sha(b"two")
    assert registry.get_model("iris", "2").version == 2


def test_same_content_with_another_framework_is_a_new_version(registry, make_file):
    # a version records how the runtime loads it: sklearn → custom is no no-op, or the record goes stale
    v1, _ = registry.register_model("iris", make_file("m.joblib", b"one"), framework="sklearn")
    v2, created = registry.register_model("iris", make_file("m.joblib", b"one"), framework="custom")
    assert (v2.version, created, v2.framework, v2.digest) == (2, True, "custom", v1.digest)
    assert registry.get_model("iris").framework == "custom"
    again, created_again = registry.register_model("iris", make_file("m.joblib", b"one"), framework="custom")
    assert (again.version, created_again) == (2, False)


def test_deleted_version_numbers_are_never_reused(registry, make_file):
    registry.register_model("iris", make_file("m.joblib", b"a"), framework="sklearn")
    registry.register_model("iris", make_file("m.joblib", b"b"), framework="sklearn")
    assert registry.delete_model("iris", 2) == [2]
    v, _ = registry.register_model("iris", make_file("m.joblib", b"c"), framework="sklearn")
    assert v.version == 3


def test_search_by_prefix_tags_framework_with_paging(registry, make_file):
    for i in range(6):
        registry.register_model(
            "fraud-a" if i % 2 else "fraud-b",
            make_file(f"m{i}.joblib", f"x{i}".encode()),
            framework="sklearn",
            tags={"team": "fraud", "run": str(i)} if i < 4 else {"team": "ops"},
        )
    registry.register_model("iris", make_file("m.onnx.bin", b"raw"), framework="custom", tags={"team": "fraud"})

    def refs(models):
        return [m.ref for m in models]

    assert refs(registry.list_models(prefix="fraud-a")) == ["fraud-a:3", "fraud-a:2", "fraud-a:1"]
    assert refs(registry.list_models(tags={"team": "ops"})) == ["fraud-a:3", "fraud-b:3"]
    assert refs(registry.list_models(tags={"run": None})) == ["fraud-a:2", "fraud-b:2", "fraud-a:1", "fraud-b:1"]
    assert refs(registry.list_models(tags={"team": "fraud", "run": "2"})) == ["fraud-b:2"]
    assert refs(registry.list_models(framework="custom")) == ["iris:1"]
    page1 = registry.list_models(limit=3)
    page2 = registry.list_models(limit=3, offset=3)
    assert refs(page1) == ["iris:1", "fraud-a:3", "fraud-b:3"]
    assert refs(page2) == ["fraud-a:2", "fraud-b:2", "fraud-a:1"]
    assert registry.list_models(prefix="fraud%") == []  # LIKE wildcards are literal
    with pytest.raises(InvalidArgument):
        registry.list_models(framework="tensorflow")


def test_tag_and_untag(registry, make_file):
    registry.register_model("iris", make_file("m.joblib", b"a"), framework="sklearn", tags={"team": "fraud"})
    tagged = registry.tag("iris", 1, {"stage": "prod", "team": "risk"})
    assert tagged.tags == {"stage": "prod", "team": "risk"}
    assert registry.untag("iris", 1, ["stage", "absent"]).tags == {"team": "risk"}
    assert [m.ref for m in registry.list_models(tags={"team": "risk"})] == ["iris:1"]
    with pytest.raises(InvalidName):
        registry.tag("iris", 1, {"bad key!": "x"})


def test_aliases_move_and_keep_history(registry, make_file, clock):
    for data in (b"a", b"b", b"c"):
        registry.register_model("iris", make_file("m.joblib", data), framework="sklearn")
    tuesday = clock.now
    registry.set_alias("iris", "stable", 1)
    clock.advance(days=1)
    wednesday = clock.now
    registry.set_alias("iris", "tag:stable", 2)
    clock.advance(days=1)
    registry.remove_alias("iris", "stable")

    assert registry.alias_at("iris", "stable", tuesday) is None  # before it was set
    assert registry.alias_at("iris", "stable", tuesday + timedelta(hours=1)) == 1
    assert registry.alias_at("iris", "stable", wednesday + timedelta(hours=1)) == 2
    assert registry.alias_at("iris", "stable", clock.now) is None  # removed
    assert [e.version for e in registry.alias_history("iris", "stable")] == [1, 2, None]
    with pytest.raises(NotFound, match="alias 'iris@stable'"):
        registry.get_model("iris", "tag:stable")

    registry.set_alias("iris", "canary", 3)
    assert registry.get_model("iris", "tag:canary").version == 3
    assert registry.get_model("iris", "canary").aliases == ["canary"]
    with pytest.raises(InvalidName, match="reserved"):
        registry.set_alias("iris", "latest", 1)


def test_archive_hides_from_latest_and_latest_history_records_it(registry, make_file, clock):
    registry.register_model("iris", make_file("m.joblib", b"a"), framework="sklearn")
    registry.register_model("iris", make_file("m.joblib", b"b"), framework="sklearn")
    before = clock.now
    clock.advance(hours=1)
    archived = registry.archive("iris", 2)
    assert archived.archived
    assert registry.get_model("iris").version == 1
    assert registry.get_model("iris", 2).archived  # still reachable by number
    assert [m.ref for m in registry.list_models()] == ["iris:1"]
    assert [m.ref for m in registry.list_models(include_archived=True)] == ["iris:2", "iris:1"]
    assert registry.alias_at("iris", "latest", before) == 2
    assert registry.alias_at("iris", "latest", clock.now) == 1
    registry.archive("iris", 1)
    with pytest.raises(NotFound, match="latest"):
        registry.get_model("iris")
    registry.unarchive("iris", 2)
    assert registry.get_model("iris").version == 2
    assert [e.version for e in registry.alias_history("iris", "latest")] == [1, 2, 1, None, 2]


def test_delete_refused_while_images_use_it_and_lists_every_user(registry, make_file):
    registry.register_model("iris", make_file("m.joblib", b"a"), framework="sklearn")
    registry.register_model("iris", make_file("m.joblib", b"b"), framework="sklearn")
    registry.register_image("scorer", fingerprint="f1", models=[("iris", 1)], environment="curated/sklearn")
    registry.register_image("scorer", fingerprint="f2", models=[("iris", 1)], environment="curated/sklearn")
    registry.register_image("batch", fingerprint="f3", models=[("iris", "latest")], environment="curated/sklearn")
    with pytest.raises(InUse) as err:
        registry.delete_model("iris", 1)
    assert err.value.users == ["image scorer:1 (uses iris:1)", "image scorer:2 (uses iris:1)"]
    assert "scorer:1" in str(err.value) and "scorer:2" in str(err.value)
    with pytest.raises(InUse) as err_all:
        registry.delete_model("iris")
    assert len(err_all.value.users) == 3 and "image batch:1 (uses iris:2)" in err_all.value.users
    assert registry.get_model("iris", 1).version == 1  # nothing was deleted

    registry.delete_image("scorer", 1)
    registry.delete_image("scorer", 2)
    assert registry.delete_model("iris", 1) == [1]
    with pytest.raises(NotFound):
        registry.get_model("iris", 1)


def test_delete_drops_aliases_with_a_history_event(registry, make_file):
    registry.register_model("iris", make_file("m.joblib", b"a"), framework="sklearn")
    registry.set_alias("iris", "stable", 1)
    registry.delete_model("iris", 1)
    assert [e.version for e in registry.alias_history("iris", "stable")] == [1, None]
    assert [e.version for e in registry.alias_history("iris", "latest")] == [1, None]


def test_not_found_suggests_names(registry, make_file):
    registry.register_model("iris-classifier", make_file("m.joblib", b"a"), framework="sklearn")
    with pytest.raises(NotFound, match="did you mean 'iris-classifier'"):
        registry.get_model("iris-clasifier")
    with pytest.raises(NotFound, match="iris-classifier:7"):
        registry.get_model("iris-classifier", 7)


@pytest.mark.parametrize("name", ["../evil", "a/b", "Iris", "", "-x", "x" * 65, "a..b", "a\\b"])
def test_invalid_names_are_refused_before_touching_disk(registry, make_file, tmp_path, name):
    source = make_file("m.joblib", b"data")
    with pytest.raises(InvalidName):
        registry.register_model(name, source, framework="sklearn")
    assert [p for p in (tmp_path / "artifacts").rglob("*") if p.is_file()] == []


def test_bad_framework_source_and_signature_are_clear_errors(registry, make_file, tmp_path):
    source = make_file("m.joblib", b"data")
    with pytest.raises(InvalidArgument, match="unknown framework"):
        registry.register_model("iris", source, framework="tensorflow")
    with pytest.raises(InvalidArgument, match="does not exist"):
        registry.register_model("iris", tmp_path / "missing.joblib", framework="sklearn")
    with pytest.raises(InvalidArgument, match="dtype"):
        registry.register_model("iris", source, framework="sklearn", signature={"inputs": [{"name": "x"}]})
    with pytest.raises(InvalidArgument, match="not a readable ONNX"):
        registry.register_model("iris", make_file("bad.onnx", b"not onnx"), framework="onnx")


class _Boom:
    """Unpickling this runs code that writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


def test_sklearn_registration_never_unpickles(registry, make_file, tmp_path):
    marker = tmp_path / "PWNED"
    source = make_file("model.pkl", pickle.dumps(_Boom(marker), protocol=5))
    model, _ = registry.register_model("iris", source, framework="sklearn")
    assert not marker.exists()
    assert model.flavors == {"sklearn": {"serialization": "pickle", "pickle_protocol": 5}}
    assert model.entry == "model.pkl" and model.signature is None


def _onnx_model(path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"])
    w = helper.make_tensor("w", TensorProto.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])
    nodes = [
        helper.make_node("Mul", ["features", "w"], ["scaled"]),
        helper.make_node("ArgMax", ["scaled"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=[w])
    onnx.save(helper.make_model(graph, producer_name="test"), str(path))


def test_onnx_signature_is_read_from_the_model(registry, tmp_path):
    path = tmp_path / "iris.onnx"
    _onnx_model(path)
    model, _ = registry.register_model("iris", path, framework="onnx")
    assert model.signature == {
        "inputs": [{"name": "features", "dtype": "float32", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]}],
    }
    assert model.flavors["onnx"]["producer"] == "test"
    given = {"inputs": [{"name": "f", "dtype": "float64", "shape": [1, 4]}], "outputs": []}
    path.write_bytes(path.read_bytes() + b"")
    other = tmp_path / "dir"
    other.mkdir()
    _onnx_model(other / "model.onnx")
    (other / "README").write_text("hi")
    explicit, _ = registry.register_model("iris2", other, framework="onnx", signature=given)
    assert explicit.signature == given and explicit.entry == "model.onnx" and explicit.kind == "tree"


def test_mlflow_folder_flavors_and_signature(registry, tmp_path):
    folder = tmp_path / "mlflow-model"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"\x80\x05not really")
    (folder / "MLmodel").write_text(
        "artifact_path: model\n"
        "flavors:\n"
        "  python_function: {loader_module: mlflow.sklearn, model_path: model.pkl, python_version: 3.11.7}\n"
        "  sklearn: {pickled_model: model.pkl, serialization_format: cloudpickle, sklearn_version: 1.5.2}\n"
        "mlflow_version: 2.17.0\n"
        "signature:\n"
        '  inputs: \'[{"name": "sepal_length", "type": "double"}, {"name": "n", "type": "long"}]\'\n'
        '  outputs: \'[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]\'\n'
    )
    model, _ = registry.register_model("iris", folder, framework="mlflow")
    assert model.signature == {
        "inputs": [
            {"name": "sepal_length", "dtype": "float64", "shape": [-1]},
            {"name": "n", "dtype": "int64", "shape": [-1]},
        ],
        "outputs": [{"name": None, "dtype": "int64", "shape": [-1]}],
    }
    assert set(model.flavors["mlflow"]["flavors"]) == {"python_function", "sklearn"}
    assert model.flavors["mlflow"]["mlflow_version"] == "2.17.0"
    assert model.entry == "MLmodel"
    with pytest.raises(InvalidArgument, match="MLmodel"):
        registry.register_model("iris", folder / "model.pkl", framework="mlflow")


def test_folder_model_digest_is_the_canonical_tree_manifest(registry, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"w" * 1000)
    (folder / "sub" / "config.json").write_bytes(b'{"a": 1}')
    os.symlink("weights.bin", folder / "alias.bin")  # in-tree symlink: fine
    model, _ = registry.register_model("bert", folder, framework="custom")
    expected = json.dumps(
        {
            "files": {
                "alias.bin": sha(b"w" * 1000),
                "sub/config.json": sha(b'{"a": 1}'),
                "weights.bin": sha(b"w" * 1000),
            },
            "mediaType": "application/vnd.modelctl.model.tree.v1+json",
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    assert model.kind == "tree" and model.digest == sha(expected) and model.size == 2008
    assert source_digest(folder) == model.digest  # what plan predicts, without storing

    dest = tmp_path / "out"
    written = registry.materialize_model("bert", 1, dest)
    assert sorted(p.relative_to(dest).as_posix() for p in written) == ["alias.bin", "sub/config.json", "weights.bin"]
    assert (dest / "sub" / "config.json").read_bytes() == b'{"a": 1}'

    (folder / "sub" / "config.json").write_bytes(b'{"a": 2}')
    changed, created = registry.register_model("bert", folder, framework="custom")
    assert created and changed.version == 2 and changed.digest != model.digest


def test_symlinks_out_of_the_model_folder_are_refused(registry, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"w")
    os.symlink(secret, folder / "leak.txt")
    with pytest.raises(InvalidArgument, match="outside the model folder"):
        registry.register_model("bert", folder, framework="custom")


def test_tampered_blob_is_detected_on_read(registry, make_file, tmp_path):
    model, _ = registry.register_model("iris", make_file("m.joblib", b"genuine"), framework="sklearn")
    blob = tmp_path / "artifacts" / "blobs" / "sha256" / model.digest[7:9] / model.digest[7:]
    assert blob.read_bytes() == b"genuine"
    os.chmod(blob, 0o644)
    blob.write_bytes(b"tampered")
    with pytest.raises(DigestMismatch):
        registry.materialize_model("iris", 1, tmp_path / "out")
    assert not (tmp_path / "out" / "m.joblib").exists()  # nothing unverified left behind
