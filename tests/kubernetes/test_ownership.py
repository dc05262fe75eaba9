"""Who owns what: an autoscaler's replicas are never drift; another field manager's change to a field
git changes is a conflict naming that manager and field; `deployments list` shows ready/desired."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kube_support import KubeRepo, call, ok
from testkit import changes, wait_until


@pytest.fixture
def repo(tmp_path, kube_cluster, kubelet, namespace):
    repo = KubeRepo.create(tmp_path / "repo", kube_cluster, namespace)
    repo.register_image()
    return repo


def deployment(api, ns: str, name: str) -> dict:
    return ok(call(api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}"))


def test_hpa_driven_replicas_are_not_drift(repo, kube_api):
    from compiler.workflow import detect_drift

    repo.deployment("blue", extra="  autoscale: {min: 2, max: 6}\n")
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    ns = repo.namespace
    # the real HPA controller brings the Deployment up to minReplicas (it needs no metrics for that)
    wait_until(
        lambda: deployment(kube_api, ns, "blue")["spec"].get("replicas") == 2,
        timeout=60,
        message="the HPA controller scaled the Deployment to minReplicas",
    )
    # an autoscaling decision, made as the HPA controller makes it: through the scale subresource
    ok(
        call(
            kube_api,
            "PATCH",
            f"/apis/apps/v1/namespaces/{ns}/deployments/blue/scale",
            {"spec": {"replicas": 5}},
            query=[("fieldManager", "horizontal-pod-autoscaler")],
            ctype="application/merge-patch+json",
        )
    )
    wait_until(
        lambda: deployment(kube_api, ns, "blue").get("status", {}).get("availableReplicas") == 5,
        timeout=60,
        message="five replicas are available",
    )
    plan = repo.plan()
    assert changes(plan) == {}, [(a.reasons, a.diffs) for a in plan.actions if a.is_change]
    report = detect_drift(repo.root)
    assert report.exit_code == 0
    [item] = report.items  # reported apart, as expected: the autoscaler's
    assert (item.resource, item.kind) == ("Deployment/blue", "expected")
    assert [(f.path, f.live, f.owner) for f in item.fields] == [("spec.replicas", 5, "the autoscaler (spec.autoscale)")]
    _, outcome = repo.apply()  # nothing to do: replicas stay the autoscaler's
    assert outcome is None and deployment(kube_api, ns, "blue")["spec"]["replicas"] == 5


def test_a_conflict_names_the_other_manager_and_field_and_force_conflicts_resolves_it(repo, kube_api):
    repo.deployment("blue", replicas=1)
    repo.apply()
    ns = repo.namespace
    # another team takes the grace period over with its own server-side apply
    theirs = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "blue", "namespace": ns},
        "spec": {"template": {"spec": {"terminationGracePeriodSeconds": 99, "containers": [{"name": "scorer"}]}}},
    }
    ok(
        call(
            kube_api,
            "PATCH",
            f"/apis/apps/v1/namespaces/{ns}/deployments/blue",
            theirs,
            query=[("fieldManager", "ops-team"), ("force", "true")],
            ctype="application/apply-patch+yaml",
        )
    )
    action = repo.plan().action("Deployment/blue")
    assert any(r.startswith("changed by hand by ops-team") for r in action.reasons), action.reasons
    # git now changes that very field: modelctl does not take it from ops-team on its own
    repo.deployment("blue", replicas=1, extra="  requestTimeoutSeconds: 60\n")
    _, outcome = repo.apply()
    assert outcome is not None and not outcome.ok
    [failed] = [r for r in outcome.results if r.resource == "Deployment/blue"]
    assert "conflicts with another field manager" in failed.message, failed.message
    assert ".spec.template.spec.terminationGracePeriodSeconds (owned by ops-team)" in failed.message
    assert "--force-conflicts" in failed.message
    assert deployment(kube_api, ns, "blue")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 99
    _, outcome = repo.apply(force_conflicts=True)
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    assert deployment(kube_api, ns, "blue")["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 70
    assert changes(repo.plan()) == {}


def test_deployments_list_shows_ready_and_desired_replicas(repo):
    repo.deployment("blue", replicas=2)
    repo.apply()
    done = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "deployments", "list", str(repo.root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [row] = json.loads(done.stdout)
    assert row["name"] == "blue" and row["health"] == "2/2 ready", row
    assert "Available=True (MinimumReplicasAvailable)" in row["conditions"], row  # the controller's own
    shown = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "deployments", "status", "blue", "--repo", str(repo.root)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert "2/2 ready" in shown.stdout and f"blue.{repo.namespace}.svc.cluster.local" in shown.stdout, shown.stdout
    assert "Available=True" in shown.stdout, shown.stdout


def test_a_missing_secret_ref_is_a_plan_error_naming_it(repo, kube_api):
    from compiler.errors import PlanError

    repo.deployment("blue", replicas=1)
    text = (
        (repo.root / "deployments/blue.yaml")
        .read_text()
        .replace("auth: {mode: none}", "auth: {mode: key, secretRef: blue-keys}")
    )
    repo.write("deployments/blue.yaml", text)
    with pytest.raises(
        PlanError, match=rf"Deployment/blue: secret blue-keys not found in namespace {repo.namespace} of target prod"
    ):
        repo.plan()
    ok(
        call(
            kube_api,
            "POST",
            f"/api/v1/namespaces/{repo.namespace}/secrets",
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "blue-keys"}, "stringData": {"keys": "k1"}},
        )
    )
    assert changes(repo.plan()) == {"Deployment/blue": "create"}
