"""Turning a model file/folder into stored blobs (and back), content-addressed by sha256.

A file model's digest is the sha256 of the file. A folder model's digest is the sha256 of its
canonical tree manifest: {"files": {"<sorted relative path>": "sha256:…"}, "mediaType": …} as
compact JSON with sorted keys.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import InvalidArgument
from .store import ArtifactStore, Blob, ModelFile
from .store.base import sha256_digest

TREE_MEDIA_TYPE = "application/vnd.modelctl.model.tree.v1+json"


@dataclass(frozen=True)
class StoredModel:
    digest: str
    kind: str  # "file" | "tree"
    size: int  # total bytes of the files
    files: list[ModelFile]


def list_source_files(source: Path) -> list[tuple[str, Path]]:
    """(relative POSIX path, absolute path) for every file; symlinks may not leave the source."""
    if not source.exists():
        raise InvalidArgument(f"model source {source} does not exist")
    if source.is_file():
        return [(source.name, source)]
    if not source.is_dir():
        raise InvalidArgument(f"model source {source} is neither a file nor a folder")
    root = source.resolve()
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(source).as_posix()
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    raise InvalidArgument(f"symlink {rel} points outside the model folder ({target})")
                if target.is_dir():
                    raise InvalidArgument(f"symlink {rel} points to a folder; only file symlinks are allowed")
            if name in filenames:
                if not path.is_file():
                    raise InvalidArgument(f"{rel} is not a regular file")
                found.append((rel, path))
    if not found:
        raise InvalidArgument(f"model folder {source} contains no files")
    return sorted(found)


def tree_manifest(files: list[ModelFile]) -> bytes:
    doc = {"mediaType": TREE_MEDIA_TYPE, "files": {f.path: f.blob.digest for f in files}}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def source_digest(source: Path) -> str:
    """The digest register_model will record for `source`, computed without storing anything."""
    from .store.base import hash_file

    files = [ModelFile(rel, hash_file(path)) for rel, path in list_source_files(source)]
    if source.is_dir():
        return sha256_digest(tree_manifest(files))
    return files[0].blob.digest


def store_model(store: ArtifactStore, source: Path) -> StoredModel:
    """Write every blob (atomically, verified by the store) and, for a folder, the tree manifest."""
    files = [ModelFile(rel, store.put_file(path)) for rel, path in list_source_files(source)]
    size = sum(f.blob.size for f in files)
    tree: Blob | None = None
    if source.is_dir():
        tree = store.put_bytes(tree_manifest(files))
        model = StoredModel(tree.digest, "tree", size, files)
    else:
        model = StoredModel(files[0].blob.digest, "file", size, files)
    store.publish(model.digest, files, tree)
    return model


def _safe_relpath(rel: str) -> PurePosixPath:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidArgument(f"unsafe path {rel!r} in a stored tree manifest")
    return path


def materialize(store: ArtifactStore, digest: str, kind: str, entry: str | None, dest: Path) -> list[Path]:
    """Write the model's files under dest (each verified by digest); returns the paths written."""
    if kind == "file":
        targets = [(_safe_relpath(entry or "model"), digest)]
    else:
        manifest = json.loads(store.read_bytes(digest))
        targets = [(_safe_relpath(rel), blob) for rel, blob in sorted(manifest["files"].items())]
    written = []
    for rel, blob_digest in targets:
        path = dest.joinpath(*rel.parts)
        store.fetch(blob_digest, path)
        written.append(path)
    return written
