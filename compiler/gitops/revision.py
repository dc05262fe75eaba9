"""Read one revision of a modelctl repo from git objects, without touching the work tree.

The revision's files under the modelctl repo folder are written from blobs into a scratch
folder (symlinks stay symlinks, so escapes are still caught), which the ordinary pipeline then
compiles. No checkout, no index change, no network, no credentials.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import git
from gitdb.exc import BadName, BadObject

from ..diagnostics import Diagnostic, DiagnosticError, did_you_mean


@dataclass(frozen=True)
class Revision:
    ref: str  # as the user wrote it
    commit: str  # full sha
    short: str
    subject: str
    folder: str  # the modelctl repo's folder inside the git repo ("" at the top)


def resolve(repo: git.Repo, ref: str, folder: str) -> Revision:
    try:
        commit = repo.commit(ref)
        commit.tree  # noqa: B018 - a shallow clone may know the name but not the objects
    except (BadName, BadObject, ValueError, git.GitCommandError) as err:
        names = [r.name for r in repo.refs] + [t.name for t in repo.tags]
        raise DiagnosticError(
            [
                Diagnostic(
                    f"unknown git revision '{ref}'",
                    code="git-ref",
                    expected="a branch, tag or commit present in this clone",
                    suggestion=did_you_mean(ref, names)
                    or "in a shallow clone, fetch the base commit first (e.g. git fetch --depth=1 origin <branch>)",
                )
            ]
        ) from err
    summary = commit.summary if isinstance(commit.summary, str) else commit.summary.decode(errors="replace")
    return Revision(ref, commit.hexsha, commit.hexsha[:7], summary, folder)


def export(repo: git.Repo, revision: Revision, dest: Path) -> Path:
    """Write the revision's files under revision.folder into dest; returns dest."""
    tree = repo.commit(revision.commit).tree
    if revision.folder:
        try:
            tree = tree / revision.folder
        except KeyError:
            raise DiagnosticError(
                [Diagnostic(f"'{revision.folder}' does not exist at {revision.ref} ({revision.short})", code="git-ref")]
            ) from None
    dest.mkdir(parents=True, exist_ok=True)
    for item in tree.traverse():
        if not isinstance(item, git.Blob):  # trees and submodules
            continue
        item_path = os.fspath(item.path)
        rel = item_path[len(revision.folder) + 1 :] if revision.folder else item_path
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = item.data_stream.read()
        if item.mode == 0o120000:  # a symlink: keep it one, so path checks still see where it points
            os.symlink(data.decode("utf-8", "surrogateescape"), path)
        else:
            path.write_bytes(data)
            if item.mode & stat.S_IXUSR:
                path.chmod(0o755)
    return dest
