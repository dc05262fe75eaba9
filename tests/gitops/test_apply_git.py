"""apply's git checks (refuse a dirty tree unless allowed, ignore .modelctl/, say so outside git) and
`history [RESOURCE] [DIR]` argument handling. No services."""

from __future__ import annotations

import git
import pytest
import typer

from compiler.cli.history import _split_args
from compiler.workflow.run import DirtyTree, check_work_tree


def _repo(path):  # noqa: ANN001, ANN202
    repo = git.Repo.init(path, initial_branch="main")
    (path / "repo").mkdir()
    (path / "repo" / "modelctl.yaml").write_text("kind: Workspace\n")
    (path / "other.txt").write_text("outside the modelctl folder\n")
    repo.git.add("-A")
    actor = git.Actor("t", "t@example.com")
    return repo, repo.index.commit("first", author=actor, committer=actor).hexsha


def test_clean_tree_and_own_folder(tmp_path):
    _, sha = _repo(tmp_path)
    (tmp_path / "repo" / ".modelctl" / "secrets").mkdir(parents=True)
    (tmp_path / "repo" / ".modelctl" / "secrets" / "keys").write_text("k")  # apply writes here itself
    (tmp_path / "other.txt").write_text("changed, but not under the repo folder")
    notes: list[str] = []
    info = check_work_tree(tmp_path / "repo", allow_dirty=False, note=notes.append)
    assert (info.commit, info.branch, info.dirty, notes) == (sha, "main", False, [])


def test_dirty_tree_is_refused_unless_allowed(tmp_path):
    _repo(tmp_path)
    (tmp_path / "repo" / "modelctl.yaml").write_text("kind: Workspace  # edited\n")
    (tmp_path / "repo" / "new.yaml").write_text("x: 1\n")
    with pytest.raises(DirtyTree, match=r"uncommitted changes \(repo/modelctl.yaml, repo/new.yaml\).*--allow-dirty"):
        check_work_tree(tmp_path / "repo", allow_dirty=False, note=lambda _t: None)
    notes: list[str] = []
    info = check_work_tree(tmp_path / "repo", allow_dirty=True, note=notes.append)
    assert info.dirty and set(info.changed) == {"repo/modelctl.yaml", "repo/new.yaml"}
    assert "applying uncommitted changes (--allow-dirty)" in notes[0]


def test_outside_git_proceeds_and_says_so(tmp_path):
    notes: list[str] = []
    info = check_work_tree(tmp_path, allow_dirty=False, note=notes.append)
    assert not info.in_git and info.commit is None and "not in a git checkout" in notes[0]


def test_history_arguments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "repo").mkdir()
    assert _split_args([], None) == (tmp_path.__class__("."), None)
    assert _split_args(["repo"], None)[0].name == "repo"  # history [DIR] still works
    assert _split_args(["Deployment/blue", "repo"], None)[1] == "Deployment/blue"
    assert _split_args(["blue"], None)[1] == "Deployment/blue"  # a bare deployment name
    assert _split_args([], "Image/scorer")[1] == "Image/scorer"  # --resource still works
    with pytest.raises(typer.BadParameter):
        _split_args(["Image/a", "Image/b"], None)
    with pytest.raises(typer.BadParameter):
        _split_args(["Not A Thing"], None)


def test_the_saved_plan_being_applied_does_not_make_the_tree_dirty(tmp_path):
    _repo(tmp_path)
    plan = tmp_path / "repo" / "plan.json"  # `modelctl plan . --out plan.json` in CI, then `apply plan.json`
    plan.write_text("{}")
    assert check_work_tree(tmp_path / "repo", allow_dirty=False, note=lambda _t: None, ignore=(plan,)).dirty is False
    with pytest.raises(DirtyTree, match="repo/plan.json"):
        check_work_tree(tmp_path / "repo", allow_dirty=False, note=lambda _t: None)


def test_folders_edge_targets_publish_into_do_not_make_the_tree_dirty(tmp_path):
    repo, _ = _repo(tmp_path)
    (tmp_path / "repo" / "modelctl.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {name: team}\nspec:\n  targets:\n"
        "    factory: {type: edge, publish: file://published/edge}\n"
    )
    repo.git.add("-A")
    repo.index.commit("edge target", author=git.Actor("t", "t@e.x"), committer=git.Actor("t", "t@e.x"))
    (tmp_path / "repo" / "published" / "edge" / "cam").mkdir(parents=True)
    (tmp_path / "repo" / "published" / "edge" / "cam" / "deployment.json").write_text("{}")  # apply's output
    assert check_work_tree(tmp_path / "repo", allow_dirty=False, note=lambda _t: None).dirty is False
    (tmp_path / "repo" / "published-not").mkdir()
    (tmp_path / "repo" / "published-not" / "x.yaml").write_text("a: 1\n")  # beside it: a real change
    with pytest.raises(DirtyTree, match="published-not/x.yaml"):
        check_work_tree(tmp_path / "repo", allow_dirty=False, note=lambda _t: None)
