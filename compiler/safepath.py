"""Paths from user specs: inside the repo, no '..' escapes, no symlinks pointing out."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


class UnsafePath(ValueError):
    """A path that is absolute, escapes the repo, or does not exist; str() says which."""


def repo_path(root: Path, rel: str, *, must_exist: bool = True) -> Path:
    root = root.resolve()
    if not rel or rel.strip() != rel:
        raise UnsafePath("path is empty or has surrounding spaces")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith("~") or (len(rel) > 1 and rel[1] == ":"):
        raise UnsafePath(f"absolute path '{rel}' is not allowed: paths are relative to the repo root")
    if ".." in pure.parts:
        candidate = (root / rel).resolve()
        if not candidate.is_relative_to(root):
            raise UnsafePath(f"path '{rel}' escapes the repo")
    full = root / rel
    resolved = full.resolve()
    if not resolved.is_relative_to(root):
        raise UnsafePath(f"path '{rel}' is a symlink pointing outside the repo")
    if must_exist and not full.exists():
        raise UnsafePath(f"path '{rel}' does not exist")
    if full.is_dir():
        for sub in full.rglob("*"):
            if sub.is_symlink() and not sub.resolve().is_relative_to(root):
                raise UnsafePath(f"'{sub.relative_to(root).as_posix()}' is a symlink pointing outside the repo")
    return resolved
