"""The in-memory output of a render: relative path → bytes (or a repo file to copy), per node."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..digest import file_sha256, sha256_bytes


@dataclass(frozen=True)
class OutputFile:
    path: str  # posix, relative to the output root
    node: str  # id of the node that produced it
    data: bytes | None = None
    source: Path | None = None  # copied byte for byte (model files) instead of held in memory
    known_sha256: str | None = None  # kept from the last render (see cache.py), with its sha256 …
    kept_from: str | None = None  # … and its path in the previous output, hard-linked from there

    def sha256(self) -> str:
        if self.known_sha256 is not None:
            return self.known_sha256
        if self.data is not None:
            return sha256_bytes(self.data)
        assert self.source is not None  # add() sets data, copy() sets source
        return file_sha256(self.source)


class OutputTree:
    """Collects files; refuses a path outside the tree or a second file at the same path."""

    def __init__(self) -> None:
        self.files: dict[str, OutputFile] = {}

    def add(self, path: str, node: str, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._put(OutputFile(_clean(path), node, data=data))

    def copy(self, path: str, node: str, source: Path) -> None:
        self._put(OutputFile(_clean(path), node, source=source))

    def keep(self, path: str, node: str, previous_out: str, sha256: str) -> None:
        """A file the last render wrote into `previous_out`, unchanged: linked (or copied) from there.

        `path` comes from `RenderIndex.reusable`, which keeps only plain relative paths (`is_plain_path`).
        """
        self._put(OutputFile(path, node, known_sha256=sha256, kept_from=f"{previous_out}/{path}"))

    def _put(self, item: OutputFile) -> None:
        if item.path in self.files:
            raise ValueError(f"two rendered files at {item.path} ({self.files[item.path].node} and {item.node})")
        self.files[item.path] = item


_SAFE_CHARS = re.compile(r"[A-Za-z0-9_./-]+")


def is_plain_path(path: object) -> bool:
    """A normalised relative path inside the tree (what every rendered path is)."""
    if not isinstance(path, str):
        return False
    try:
        return _clean(path) == path
    except ValueError:
        return False


def _clean(path: str) -> str:
    if _SAFE_CHARS.fullmatch(path):
        parts = path.split("/")
        if "" not in parts and "." not in parts and ".." not in parts:
            return path  # already a plain, normalised relative path, as almost every rendered path is
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or "\\" in path:
        raise ValueError(f"rendered path {path!r} is not a plain relative path")
    return pure.as_posix()
