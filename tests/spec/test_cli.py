"""The CLI: exit codes, formats, version/help, init, schema."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from compiler import __version__
from compiler.cli.main import app
from compiler.paths import PROJECT_ROOT

from spec_repo import BASE_REPO

runner = CliRunner()


def test_examples_validate():
    for example in ("iris", "edge-vision"):
        result = runner.invoke(app, ["validate", str(PROJECT_ROOT / "examples" / example)])
        assert result.exit_code == 0, result.output
        assert "is valid" in result.output


def test_stage_overlay_validates():
    result = runner.invoke(app, ["validate", str(PROJECT_ROOT / "examples" / "iris"), "--stage", "prod"])
    assert result.exit_code == 0, result.output


def test_unknown_stage(make_repo):
    result = runner.invoke(app, ["validate", str(make_repo()), "--stage", "prdo"])
    assert result.exit_code == 1
    assert "unknown stage 'prdo'" in result.output


def test_json_format(make_repo):
    root = make_repo({"models/m.yaml": BASE_REPO["models/m.yaml"].replace("framework:", "framwork:")})
    result = runner.invoke(app, ["validate", str(root), "--format", "json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    [diag] = data["diagnostics"]
    assert diag["line"] == 6 and diag["col"] == 3 and diag["path"] == "spec.framwork"
    assert diag["suggestion"] == "did you mean 'framework'?"


def test_github_format(make_repo):
    root = make_repo({"endpoints/e.yaml": BASE_REPO["endpoints/e.yaml"].replace("green: 10", "green: 20")})
    result = runner.invoke(app, ["validate", str(root), "--format", "github"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"::error file={root}/endpoints/e.yaml,line=7,col=3,title=modelctl traffic-total::")
    assert "traffic split totals 110" in line


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).output.strip() == f"modelctl {__version__}"
    helped = runner.invoke(app, ["validate", "--help"])
    assert helped.exit_code == 0 and "Example" in helped.output


def test_init_scaffolds_a_valid_repo(tmp_path):
    target = tmp_path / "new-repo"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert (target / "modelctl.yaml").exists()
    assert runner.invoke(app, ["validate", str(target)]).exit_code == 0
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 1 and "not empty" in again.output


def test_schema_command():
    result = runner.invoke(app, ["schema", "Deployment"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "modelctl Deployment"
    bad = runner.invoke(app, ["schema", "Deploymnt"])
    assert bad.exit_code == 1 and "did you mean 'deployment'?" in bad.output


def test_missing_directory(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "not a directory" in result.output


def test_init_scoring_script_scores_through_the_runtime_loader(tmp_path, monkeypatch):
    import json
    import os

    from compiler.runtime.loaders import load_model
    from compiler.runtime.settings import ModelConfig

    target = tmp_path / "scaffolded"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    monkeypatch.setattr(os, "environ", dict(os.environ))  # the loader exports the model's paths
    model = load_model(
        ModelConfig(
            name="example",
            version="1",
            framework="custom",
            path=target / "artifacts" / "weights.json",
            script=target / "score" / "score.py",
        )
    )
    assert model.score(json.dumps({"data": [[2.0, 4.0]]}).encode(), None) == [0.5 * 2 - 0.25 * 4 + 0.1]
