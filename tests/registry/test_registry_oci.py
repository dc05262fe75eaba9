"""The OCI artifact store against a real registry (docker-registry on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest

from compiler.registry import DigestMismatch, open_registry
from compiler.registry.store import OciStore

pytestmark = pytest.mark.registry


@pytest.fixture
def oci_repo(oci_registry: str) -> str:
    return f"oci://{oci_registry}/modelctl-test/{uuid.uuid4().hex[:10]}"


def test_push_and_read_back_a_folder_model(oci_repo, tmp_path):
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one upload chunk below
    (folder / "weights.bin").write_bytes(big)
    (folder / "sub" / "meta.json").write_text('{"x": 1}')
    with open_registry(f"sqlite:///{tmp_path}/r.db", oci_repo, tmp_path) as reg:
        reg.store.chunk_size = 1024 * 1024  # exercise the chunked (PATCH) upload
        model, _ = reg.register_model("bert", folder, framework="custom")
        manifest = reg.store.read_manifest(model.digest)
    assert manifest["artifactType"] == "application/vnd.modelctl.model.v1"
    assert manifest["config"]["digest"] == model.digest
    titles = {layer["annotations"]["org.opencontainers.image.title"]: layer["digest"] for layer in manifest["layers"]}
    assert titles == {
        "sub/meta.json": "sha256:" + hashlib.sha256(b'{"x": 1}').hexdigest(),
        "weights.bin": "sha256:" + hashlib.sha256(big).hexdigest(),
    }

    # A second registry process (fresh store object) reads everything back, verifying digests.
    with open_registry(f"sqlite:///{tmp_path}/r.db", oci_repo, tmp_path) as reg:
        reg.materialize_model("bert", 1, tmp_path / "out")
    assert (tmp_path / "out" / "weights.bin").read_bytes() == big
    assert (tmp_path / "out" / "sub" / "meta.json").read_text() == '{"x": 1}'


def test_single_file_model_and_dedup(oci_repo, tmp_path):
    src = tmp_path / "iris.joblib"
    src.write_bytes(b"\x80\x04small model")
    with open_registry(f"sqlite:///{tmp_path}/r.db", oci_repo, tmp_path) as reg:
        model, _ = reg.register_model("iris", src, framework="sklearn")
        assert reg.store.has(model.digest)
        manifest = reg.store.read_manifest(model.digest)
        assert [layer["digest"] for layer in manifest["layers"]] == [model.digest]
        again, created = reg.register_model("iris-copy", src, framework="sklearn")
        assert created and again.digest == model.digest  # same blob, no second upload needed
        reg.materialize_model("iris-copy", 1, tmp_path / "out")
    assert (tmp_path / "out" / "iris.joblib").read_bytes() == src.read_bytes()


def test_digest_is_verified_on_read(oci_repo, tmp_path):
    store = OciStore(oci_repo)
    try:
        real = store.put_bytes(b"payload")
        assert store.read_bytes(real.digest) == b"payload"
        assert not store.has("sha256:" + "0" * 64)
        # Ask for content under the wrong digest by pointing a request at another blob: the store
        # must refuse to hand back bytes that do not hash to what was asked for.
        other = store.put_bytes(b"other payload")
        store._blob_url = lambda digest: f"/v2/{store.repo}/blobs/{other.digest}"  # a lying registry
        with pytest.raises(DigestMismatch):
            store.read_bytes(real.digest)
        with pytest.raises(DigestMismatch):
            store.fetch(real.digest, tmp_path / "x.bin")
        assert not (tmp_path / "x.bin").exists()
    finally:
        store.close()
