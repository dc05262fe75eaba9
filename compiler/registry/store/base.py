"""What every artifact store offers: content-addressed blobs (sha256), verified on read."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from ...atomic import fsync_path

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Blob:
    digest: str  # "sha256:<hex>"
    size: int


@dataclass(frozen=True)
class ModelFile:
    path: str  # relative POSIX path inside the model
    blob: Blob


class ArtifactStore(Protocol):
    url: str

    def put_file(self, path: Path) -> Blob: ...
    def put_bytes(self, data: bytes) -> Blob: ...
    def has(self, digest: str) -> bool: ...
    def read_bytes(self, digest: str) -> bytes: ...
    def fetch(self, digest: str, dest: Path) -> None: ...
    def publish(self, model_digest: str, files: list[ModelFile], tree: Blob | None) -> None: ...
    def close(self) -> None: ...


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def hash_file(path: Path) -> Blob:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return Blob("sha256:" + h.hexdigest(), size)


def split_digest(digest: str) -> str:
    """The hex part of a sha256 digest, validated (it becomes a file name or URL part)."""
    algo, _, hexpart = digest.partition(":")
    if algo != "sha256" or len(hexpart) != 64 or any(c not in "0123456789abcdef" for c in hexpart):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return hexpart


def fsync_dir(path: Path) -> None:
    fsync_path(path)


def write_stream_atomically(chunks, dest: Path, expected: str | None) -> Blob:  # noqa: ANN001
    """Write chunks to a temp file beside dest, verify the digest, fsync, then rename into place."""
    from ..errors import DigestMismatch  # local import: base stays import-light

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.{os.urandom(4).hex()}.part"
    try:
        blob = write_hashing(chunks, tmp)
        if expected is not None and blob.digest != expected:
            raise DigestMismatch(expected, blob.digest, str(dest))
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
        return blob
    finally:
        tmp.unlink(missing_ok=True)


def write_hashing(chunks, tmp: Path, after_chunk=None) -> Blob:  # noqa: ANN001
    """Write chunks to tmp while hashing them, then fsync; the caller renames tmp into place."""
    h, size = hashlib.sha256(), 0
    with open(tmp, "wb") as out:
        for chunk in chunks:
            h.update(chunk)
            size += len(chunk)
            out.write(chunk)
            if after_chunk is not None:
                after_chunk()
        out.flush()
        os.fsync(out.fileno())
    return Blob("sha256:" + h.hexdigest(), size)


def iter_chunks(f: BinaryIO):  # noqa: ANN201
    while chunk := f.read(CHUNK):
        yield chunk
