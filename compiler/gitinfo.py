"""Facts about the git checkout a repo lives in: commit, branch, uncommitted changes.

Read once per command (plan, apply, drift) and recorded in plans and history. Shared by the
commands and gitops; imports nothing above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import git

from .diagnostics import Diagnostic, DiagnosticError


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
        raise DiagnosticError(
            [
                Diagnostic(
                    f"{repo_dir} is not inside a git repository",
                    code="git",
                    suggestion="run 'git init' or pass the folder of a git checkout",
                )
            ]
        ) from None
    top = _work_tree(repo)
    folder = Path(repo_dir).resolve().relative_to(top).as_posix()
    return repo, "" if folder == "." else folder


def _work_tree(repo: git.Repo) -> Path:
    if repo.working_tree_dir is None:  # a bare repository: no checkout to read
        raise DiagnosticError(
            [
                Diagnostic(
                    f"{repo.git_dir} is a bare git repository",
                    code="git",
                    suggestion="pass the folder of a git checkout",
                )
            ]
        )
    return Path(repo.working_tree_dir).resolve()


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
    top = _work_tree(repo)
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
