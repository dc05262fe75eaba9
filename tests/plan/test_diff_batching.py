"""Turning batching on or retuning it rolls the deployment out, and the plan says it is batching."""

from __future__ import annotations

from live_support import make_plan
from testkit import changes

from compiler.plan.explain import render_text


def _batching(repo, target: str, settings: str) -> None:
    path = repo.root / "deployments/deployments.yaml"
    old = f"{{image: iris-scorer, target: {target}"
    repo.write(
        "deployments/deployments.yaml", path.read_text().replace(old, f"{old}, runtime: {{batching: {settings}}}")
    )


def test_batching_on_is_a_rollout_that_names_it(repo, converge):
    repo.write("score/score.py", "BATCHABLE = True\n\ndef init():\n    pass\n\ndef run(data):\n    return data\n")
    live = converge(repo.graph())
    _batching(repo, "local", "{maxBatchSize: 16}")
    _batching(repo, "prod", "{maxBatchSize: 64, maxLatencyMs: 5}")
    plan = make_plan(repo.graph(), live)
    assert changes(plan) == {"Deployment/iris-local": "update", "Deployment/iris-prod": "update"}
    local, prod = plan.action("Deployment/iris-local"), plan.action("Deployment/iris-prod")
    assert [(d.path, d.before, d.after) for d in local.diffs] == [
        ("spec.runtime.batching.maxBatchSize", None, 16),
        ("spec.runtime.batching.maxLatencyMs", None, 2),
    ]
    assert local.reasons[-1] == "batching: on, up to 16 rows per predict call, waiting at most 2 ms"
    # kubernetes compares the objects: the scorer's batching variables changed, and the plan says what that means
    assert prod.reasons[-1] == "batching: on, up to 64 rows per predict call, waiting at most 5 ms"
    assert any(d.path.endswith("env[MODELCTL_BATCH_MAX_SIZE].value") and d.after == "64" for d in prod.diffs)
    text = render_text(plan)
    assert "spec.runtime.batching.maxBatchSize:[/dim] (none) → 16" in text and "up to 64 rows" in text


def test_retuning_batching_shows_before_and_after(repo, converge):
    _batching(repo, "local", "{maxBatchSize: 16}")
    live = converge(repo.graph())
    assert not make_plan(repo.graph(), live).has_changes  # applied batching settings are no drift
    path = repo.root / "deployments/deployments.yaml"
    repo.write("deployments/deployments.yaml", path.read_text().replace("maxBatchSize: 16}", "maxBatchSize: 8}", 1))
    action = make_plan(repo.graph(), live).action("Deployment/iris-local")
    assert [(d.path, d.before, d.after) for d in action.diffs] == [("spec.runtime.batching.maxBatchSize", 16, 8)]
    assert action.reasons[-1].startswith("batching: on, up to 8 rows")
    # and off again
    repo.write("deployments/deployments.yaml", path.read_text().replace(", runtime: {batching: {maxBatchSize: 8}}", ""))
    action = make_plan(repo.graph(), live).action("Deployment/iris-local")
    assert action.reasons[-1] == "batching: off"
