"""Paths from user specs: inside the repo, no '..' escapes, no symlinks pointing out.

`repo_path` is the rule for every path a spec names. `content_path` adds the rule for files whose
bytes are copied into an image or a bundle (model files, compiled models, scoring scripts): not
the repo root itself, and nothing inside `.git` (history) or `.modelctl` (secrets, registry,
state), directly, through a symlink, or inside a folder.
"""

from __future__ import annotations

import posixpath
from pathlib import Path, PurePosixPath

PRIVATE_DIRS = (".git", ".modelctl")


class UnsafePath(ValueError):
    """A path that is absolute, escapes the repo, or does not exist; str() says which."""


class PrivatePath(UnsafePath):
    """A path inside the repo whose content must not leave it: the root, .git, .modelctl."""


def _printable(rel: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in rel)


def repo_path(root: Path, rel: str, *, must_exist: bool = True) -> Path:
    root = root.resolve()
    if not rel or rel.strip() != rel:
        raise UnsafePath("path is empty or has surrounding spaces")
    if any(not ch.isprintable() for ch in rel):  # a NUL would reach the OS as a ValueError
        raise UnsafePath(f"path '{_printable(rel)}' contains a control character")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith("~") or (len(rel) > 1 and rel[1] == ":") or rel.startswith("\\"):
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


def _private_part(root: Path, path: Path) -> str | None:
    """'.git' or '.modelctl' when `path` (resolved, inside root) is in one of them."""
    for part in path.relative_to(root).parts:
        if part.lower() in PRIVATE_DIRS:
            return part
    return None


def content_path(root: Path, rel: str) -> Path:
    """A repo file or folder whose content is copied into an artifact (see the module docstring)."""
    full = repo_path(root, rel)
    root = root.resolve()
    if full == root:
        raise PrivatePath(
            f"path '{rel}' is the repo root: its whole content (with .git and .modelctl) would be copied into the image"
        )
    private = _private_part(root, full)
    if private:
        lexical = posixpath.normpath(rel).split("/")
        where = "is" if any(p.lower() in PRIVATE_DIRS for p in lexical) else "leads (through a symlink)"
        raise PrivatePath(
            f"path '{rel}' {where} inside {private}/, which holds "
            f"{'secrets and state' if private.lower() == '.modelctl' else 'the git history'} "
            "and is never copied into an artifact"
        )
    if full.is_dir():
        for sub in sorted(full.rglob("*")):
            shown = sub.relative_to(root).as_posix()
            if sub.name.lower() in PRIVATE_DIRS:
                raise PrivatePath(f"folder '{rel}' contains '{shown}', which is never copied into an artifact")
            if sub.is_symlink():
                target = sub.resolve()
                if target == root or (target.is_relative_to(root) and _private_part(root, target)):
                    raise PrivatePath(
                        f"'{shown}' is a symlink to "
                        f"{'the repo root' if target == root else target.relative_to(root).as_posix()}, "
                        "which is never copied into an artifact"
                    )
    return full
