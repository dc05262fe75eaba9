"""Pull-request plans between real git commits (gitpython), from git objects only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import git
import pytest

from compiler.diagnostics import DiagnosticError
from compiler.gitops.pr_plan import pr_plan
from compiler.gitops.report import render_github, render_json, render_markdown
from compiler.paths import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "pr-plan"
WHEN = "2026-01-01T00:00:00+00:00"


def commit(repo: git.Repo, message: str) -> str:
    repo.git.add(A=True)
    env = {
        "GIT_AUTHOR_DATE": WHEN,
        "GIT_COMMITTER_DATE": WHEN,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }
    with repo.git.custom_environment(**env):
        repo.git.commit(m=message)
    return repo.head.commit.hexsha


@pytest.fixture
def history(tmp_path: Path):
    """A git repo holding examples/iris in a sub-folder, with one change per commit."""
    top = tmp_path / "gitops"
    repo = git.Repo.init(top, initial_branch="main")
    folder = top / "ml" / "iris"
    shutil.copytree(PROJECT_ROOT / "examples" / "iris", folder, ignore=shutil.ignore_patterns(".modelctl", "out"))
    shas = {"initial": commit(repo, "initial")}
    (folder / "artifacts" / "iris.joblib").write_bytes((folder / "artifacts" / "iris.joblib").read_bytes() + b"\0")
    shas["model"] = commit(repo, "retrain iris")
    prod = folder / "deployments" / "iris-prod.yaml"
    prod.write_text(prod.read_text().replace("  replicas: 1\n", "  replicas: 3\n"))
    shas["replicas"] = commit(repo, "more green replicas")
    repo.git.mv("ml/iris/models/iris.yaml", "ml/iris/models/classifiers.yaml")
    shas["rename"] = commit(repo, "rename a file")
    return repo, folder, shas


def resources(plan) -> dict[str, str]:
    return {c.resource: c.action for c in plan.changes.changes}


def test_model_file_change_lists_model_image_and_its_deployments(history):
    _repo, folder, shas = history
    plan = pr_plan(folder, shas["initial"], shas["model"])
    assert resources(plan) == {
        "Model/iris-classifier": "changed",
        "Image/iris-scorer": "rebuild",
        "Deployment/iris-local": "roll",
        "Deployment/iris-blue": "roll",
    }
    image = next(c for c in plan.changes.changes if c.resource == "Image/iris-scorer")
    assert image.reasons == ("model iris-classifier changed",)
    model = next(c for c in plan.changes.changes if c.resource == "Model/iris-classifier")
    assert [d.path for d in model.diffs] == ["artifact"]
    assert any(a.path.endswith("Dockerfile") for a in image.artifacts)
    assert plan.changes.rebuilds() == ["iris-scorer"]


def test_replicas_change_lists_only_that_deployment(history):
    _repo, folder, shas = history
    plan = pr_plan(folder, shas["model"], shas["replicas"])
    assert resources(plan) == {"Deployment/iris-green": "roll"}
    [change] = plan.changes.changes
    assert [(d.path, d.before, d.after) for d in change.diffs] == [("spec.replicas", 1, 3)]
    assert [a.path for a in change.artifacts] == ["kubernetes/prod/deployments/iris-green.yaml"]
    assert "\n-  replicas: 1\n" in change.artifacts[0].diff and "\n+  replicas: 3\n" in change.artifacts[0].diff


def test_renamed_file_with_identical_content_lists_nothing(history):
    _repo, folder, shas = history
    plan = pr_plan(folder, shas["replicas"], shas["rename"])
    assert plan.changes.empty
    assert "No changes" in render_markdown(plan)


def test_default_head_is_HEAD_and_work_tree_is_untouched(history):
    repo, folder, shas = history
    (folder / "models" / "classifiers.yaml").write_text("uncommitted: garbage\n")
    plan = pr_plan(folder, shas["replicas"])
    assert plan.head.commit == shas["rename"] and plan.changes.empty
    assert (folder / "models" / "classifiers.yaml").read_text() == "uncommitted: garbage\n"
    assert repo.is_dirty()


def normalise(text: str, plan) -> str:
    """Commit ids and sha256 digests vary with unrelated changes (the runtime's code is in every
    image fingerprint); the golden file pins everything else."""
    for name, rev in (("base", plan.base), ("head", plan.head)):
        text = text.replace(rev.commit, f"<{name}-commit>").replace(f"({rev.short})", f"(<{name}>)")
    text = re.sub(r"(?<![0-9a-z])[0-9a-f]{12,64}(?![0-9a-z])", "<hex>", text)
    return text.replace('"<hex>"', "<hex>")  # the YAML emitter quotes a hex string that reads as a number


def test_markdown_matches_golden(history):
    _repo, folder, shas = history
    plan = pr_plan(folder, shas["initial"], shas["model"])
    text = normalise(render_markdown(plan), plan)
    golden = GOLDEN / "model-change.md"
    if os.environ.get("MODELCTL_REGEN_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), "missing golden: run `make golden`"
    assert text == golden.read_text(), (
        "markdown PR plan differs from tests/golden/pr-plan/model-change.md; if intended, run `make golden`"
    )


def test_github_annotations_point_at_defining_files(history):
    _repo, folder, shas = history
    out = render_github(pr_plan(folder, shas["model"], shas["replicas"]))
    assert out.splitlines()[0].startswith(
        "::notice file=ml/iris/deployments/iris-prod.yaml,line=20,title=modelctl plan::Deployment/iris-green: roll"
    )


def test_json_output_is_machine_readable(history):
    import json

    _repo, folder, shas = history
    doc = json.loads(render_json(pr_plan(folder, shas["initial"], shas["model"])))
    assert doc["base"]["commit"] == shas["initial"] and doc["folder"] == "ml/iris"
    assert {c["resource"] for c in doc["changes"]} >= {"Model/iris-classifier", "Image/iris-scorer"}


def test_unknown_ref_is_a_clear_error(history):
    _repo, folder, _shas = history
    with pytest.raises(DiagnosticError) as err:
        pr_plan(folder, "mian")
    [diag] = err.value.diagnostics
    assert diag.message == "unknown git revision 'mian'"
    assert diag.suggestion == "did you mean 'main'?"


def test_shallow_clone_with_both_commits_works_and_without_is_clear(history, tmp_path):
    repo, _folder, shas = history
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{repo.working_tree_dir}", str(shallow)], check=True)
    plan = pr_plan(shallow / "ml" / "iris", shas["replicas"], "HEAD")
    assert plan.changes.empty
    with pytest.raises(DiagnosticError) as err:
        pr_plan(shallow / "ml" / "iris", shas["initial"], "HEAD")
    assert "fetch the base commit" in err.value.diagnostics[0].suggestion


def test_invalid_head_reports_its_errors(history):
    repo, folder, shas = history
    (folder / "endpoints" / "iris.yaml").write_text(
        (folder / "endpoints" / "iris.yaml").read_text().replace("10}", "20}")
    )
    bad = commit(repo, "bad split")
    with pytest.raises(DiagnosticError) as err:
        pr_plan(folder, shas["rename"], bad)
    assert err.value.diagnostics[0].message.startswith("traffic split totals 110")
