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


@dataclass(frozen=True)
class GitInfo:
    commit: str | None
    branch: str | None
    dirty: bool
    changed: tuple[str, ...] = ()  # uncommitted paths under the repo folder (git-repo relative)
    in_git: bool = True


def open_repo(repo_dir: Path) -> tuple[git.Repo, str]:
    """The git repo holding repo_dir, and repo_dir's folder inside it (posix, "" at the top)."""
    try:
        repo = git.Repo(repo_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise DiagnosticError([Diagnostic(f"{repo_dir} is not inside a git repository", code="git",
                                          suggestion="run 'git init' or pass the folder of a git checkout")])
    top = Path(repo.working_tree_dir).resolve()
    folder = Path(repo_dir).resolve().relative_to(top).as_posix()
    return repo, "" if folder == "." else folder


def resolve(repo: git.Repo, ref: str, folder: str) -> Revision:
    try:
        commit = repo.commit(ref)
        commit.tree  # noqa: B018 - a shallow clone may know the name but not the objects
    except (BadName, BadObject, ValueError, git.GitCommandError) as err:
        names = [r.name for r in repo.refs] + [t.name for t in repo.tags]
        raise DiagnosticError([Diagnostic(
            f"unknown git revision '{ref}'", code="git-ref",
            expected="a branch, tag or commit present in this clone",
            suggestion=did_you_mean(ref, names) or "in a shallow clone, fetch the base commit first "
                                                    "(e.g. git fetch --depth=1 origin <branch>)")]) from err
    return Revision(ref, commit.hexsha, commit.hexsha[:7], commit.summary, folder)


def export(repo: git.Repo, revision: Revision, dest: Path) -> Path:
    """Write the revision's files under revision.folder into dest; returns dest."""
    tree = repo.commit(revision.commit).tree
    if revision.folder:
        try:
            tree = tree / revision.folder
        except KeyError:
            raise DiagnosticError([Diagnostic(f"'{revision.folder}' does not exist at {revision.ref} "
                                              f"({revision.short})", code="git-ref")])
    dest.mkdir(parents=True, exist_ok=True)
    for item in tree.traverse():
        if item.type != "blob":
            continue
        rel = item.path[len(revision.folder) + 1:] if revision.folder else item.path
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


# modelctl's own working folder (registry database, generated secrets): never a change to commit
OWN_FOLDER = ".modelctl"


def work_tree_info(repo_dir: Path, ignore: tuple[Path, ...] = ()) -> GitInfo:
    """Commit, branch and dirtiness of the checkout holding repo_dir (all None/False outside git).

    Dirty means uncommitted or untracked (not ignored) files under repo_dir, except modelctl's
    own `.modelctl/` folder, which apply writes itself, and the files or folders in `ignore` (the saved
    plan being applied, the folders edge/fpga targets publish into).
    """
    try:
        repo, folder = open_repo(repo_dir)
    except DiagnosticError:
        return GitInfo(None, None, False, in_git=False)
    try:
        commit = repo.head.commit.hexsha
    except ValueError:  # no commits yet
        commit = None
    branch = None if repo.head.is_detached else repo.active_branch.name
    top = Path(repo.working_tree_dir).resolve()
    skip = {Path(p).resolve().relative_to(top).as_posix() for p in ignore if Path(p).resolve().is_relative_to(top)}
    folders = tuple(f"{s}/" for s in skip if (top / s).is_dir())
    changed = tuple(p for p in _changed(repo, folder) if p not in skip and not p.startswith(folders))
    return GitInfo(commit, branch, bool(changed), changed)


def _changed(repo: git.Repo, folder: str) -> list[str]:
    out = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all", "--", folder or ".")
    entries = out.split("\0")
    own = f"{folder}/{OWN_FOLDER}/" if folder else f"{OWN_FOLDER}/"
    paths, i = [], 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        path = entry[3:]
        if entry[0] in "RC":  # a rename is followed by its source path
            i += 1
        if not path.startswith(own):
            paths.append(path)
    return paths
