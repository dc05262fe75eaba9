"""One compile, one git read and one selection per command: plan, apply (with changes), and a
reconcile cycle that heals from its own drift plan (counted on the real functions)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import git
import pytest

from compiler import gitinfo, pipeline
from compiler.plan import Scope
from compiler.plan import scope as plan_scope
from compiler.workflow import Session, apply_repo
from compiler.workflow.reconcile import RepoSteps

WORKSPACE = """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: team}
spec:
  targets:
    local: {type: docker}
"""
MODEL = """\
apiVersion: modelctl.io/v1
kind: Model
metadata: {name: iris}
spec: {framework: custom, path: artifacts/iris.bin}
"""


@pytest.fixture
def counted(monkeypatch) -> Counter:
    calls: Counter = Counter()
    for owner, name, label in (
        (pipeline, "compile_repo", "compile"),
        (gitinfo, "work_tree_info", "git"),
        (plan_scope, "select", "select"),
    ):
        real = getattr(owner, name)

        def counting(*args, _real=real, _label=label, **kw):  # noqa: ANN002, ANN003, ANN202
            calls[_label] += 1
            return _real(*args, **kw)

        monkeypatch.setattr(owner, name, counting)
    return calls


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "artifacts").mkdir()
    (root / "modelctl.yaml").write_text(WORKSPACE)
    (root / "models" / "iris.yaml").write_text(MODEL)
    (root / "artifacts" / "iris.bin").write_text("iris v1")
    (root / ".gitignore").write_text(".modelctl/\n")
    checkout = git.Repo.init(root, initial_branch="main")
    checkout.index.add(["modelctl.yaml", "models/iris.yaml", "artifacts/iris.bin", ".gitignore"])
    checkout.index.commit("models")
    return root


def test_plan_compiles_once_and_reads_git_once(repo, counted):
    with Session.open(repo) as session:
        plan = session.plan()
    assert [a.resource for a in plan.changes] == ["Model/iris"]
    assert counted == Counter(compile=1, git=1, select=1)
    assert plan.git_dirty is False and plan.git_commit is not None


def test_apply_with_changes_compiles_once_and_reads_git_once(repo, counted):
    run = apply_repo(repo, Scope())
    assert run.ok and run.outcome is not None and [r.resource for r in run.outcome.results] == ["Model/iris"]
    assert counted == Counter(compile=1, git=1, select=1)
    # the history row and the plan agree on the work tree (one read)
    assert run.plan.git_dirty is run.git.dirty is False
    counted.clear()
    again = apply_repo(repo, Scope())  # nothing to do: still one of each
    assert again.outcome is None and not again.plan.has_changes
    assert counted == Counter(compile=1, git=1, select=1)


def test_a_reconcile_heal_reuses_its_drift_plan(repo, counted):
    steps = RepoSteps(repo, Scope())
    try:
        report = steps.detect()
        assert [i.resource for i in report.real] == ["Model/iris"]
        healed = steps.heal()
    finally:
        steps.close()
    assert healed["ok"] and [r["resource"] for r in healed["results"]] == ["Model/iris"]
    assert counted == Counter(compile=1, git=1, select=1)


def test_the_repo_s_validation_warnings_travel_with_the_plan(repo):
    (repo / "images").mkdir()
    (repo / "images" / "scorer.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris], environment: curated/sklearn}\n"
    )
    (repo / "deployments").mkdir()
    (repo / "deployments" / "web.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec: {image: scorer, target: local, autoscale: {min: 1, max: 3}}\n"
    )
    with Session.open(repo, Scope(resources=("Model/iris",))) as session:  # no target is read
        plan = session.plan()
    [warning] = plan.warnings
    assert warning.startswith("deployments/web.yaml:") and "has no autoscaler" in warning
    from compiler.plan.document import from_document, to_document

    assert from_document(to_document(plan)).warnings == plan.warnings
