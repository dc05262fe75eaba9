"""Names on the command line are checked: an unknown one is exit 1 with a did-you-mean, never an empty
listing; a known name with nothing to show stays an empty answer (exit 0)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.registry import open_registry

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (
            ["history", "Deployment/bleu"],
            "unknown deployment 'bleu': not in the repo or the registry; did you mean 'blue'?",
        ),
        (["history", "grene"], "did you mean 'green'?"),
        (["history", "Model/irs"], "unknown model 'irs'"),
        (
            ["deployments", "list", "--model", "irsi"],
            "unknown model 'irsi': not in the repo or the registry; did you mean 'iris'?",
        ),
        (["deployments", "list", "--model", "irsi@2"], "did you mean 'iris'?"),
        (["deployments", "list", "--image", "scroer"], "unknown image 'scroer'"),
        (["deployments", "list", "--target", "prd"], "unknown target 'prd'"),
        (["models", "list", "--framework", "sklaern"], "unknown framework 'sklaern'; did you mean 'sklearn'?"),
        (["images", "list", "--model", "irsi"], "did you mean 'iris'?"),
    ],
)
def test_unknown_names_are_errors_with_a_hint(make_repo, monkeypatch, args, hint):
    root = make_repo()
    monkeypatch.chdir(root)
    result = runner.invoke(app, [*args, "--repo", str(root)] if args[0] in ("models", "images") else [*args, str(root)])
    assert result.exit_code == 1, result.output
    assert hint in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        (["history", "Deployment/blue"], "no history yet for Deployment/blue"),
        (["deployments", "list", "--model", "iris"], "no deployments"),
        (["deployments", "list", "--target", "docker"], "no deployments"),  # a target type
        (["deployments", "list", "--target", "local"], "no deployments"),
    ],
)
def test_known_names_with_nothing_to_show_are_empty_answers(make_repo, args, answer):
    root = make_repo()
    result = runner.invoke(app, [*args, str(root)])
    assert result.exit_code == 0, result.output
    assert answer in result.output


def test_a_name_only_the_registry_knows_is_known(make_repo):
    root = make_repo()
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", root) as reg:
        reg.register_model("retired", root / "artifacts" / "iris.joblib", framework="sklearn")
    result = runner.invoke(app, ["deployments", "list", "--model", "retired", str(root)])
    assert result.exit_code == 0 and "no deployments" in result.output, result.output
    result = runner.invoke(app, ["deployments", "list", "--model", "retird", str(root)])
    assert result.exit_code == 1 and "did you mean 'retired'?" in result.output


def test_devices_simulate_names_a_deployment_that_is_not_on_an_edge_target(make_repo):
    root = make_repo()
    result = runner.invoke(app, ["devices", "simulate", "blue", str(root)])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "Deployment/blue runs on target 'prod' (type kubernetes), not on an edge target" in text
    assert "did you mean" not in text


def test_monitor_unknown_deployment_hint_is_its_own_clause(make_repo):
    root = make_repo()
    result = runner.invoke(app, ["monitor", "bleu", "--repo", str(root)])
    assert result.exit_code == 1, result.output
    assert f"no deployment 'bleu' in {root}; did you mean 'blue'?" in " ".join(result.output.split())


def test_deployments_list_before_any_apply_names_what_the_repo_declares(make_repo):
    root = make_repo()
    result = runner.invoke(app, ["deployments", "list", str(root)])
    assert result.exit_code == 0, result.output
    assert "no deployments applied yet: the repo declares blue, green (modelctl apply deploys them)" in " ".join(
        result.output.split()
    )
