"""Content digests: sha256 of files, and of folders as a canonical manifest of their files."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import orjson

CHUNK = 1024 * 1024


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def tree_manifest(folder: Path) -> dict[str, str]:
    """Sorted {relative posix path: sha256} of every regular file under folder."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}


def path_sha256(path: Path) -> str:
    """A file's sha256, or a folder's: the sha256 of its canonical manifest."""
    if path.is_dir():
        return canonical_sha256(tree_manifest(path))
    return file_sha256(path)


def canonical_json(value: Any) -> str:
    return canonical_bytes(value).decode("utf-8")


def canonical_bytes(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8 (orjson: fast, and stable for the same value)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # beyond orjson's types (e.g. integers over 64 bits): the standard library
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_sha256(value: Any) -> str:
    return sha256_bytes(canonical_bytes(value))
