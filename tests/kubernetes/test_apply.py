"""Kubernetes targets applied on a real control plane, through the real `apply_repo`.

The stand-in kubelet marks pods Ready (or failing), so rollouts progress or stall as the real
Deployment controller decides. Requests are counted from the API server's audit log.
"""

from __future__ import annotations

import pytest
from kube_support import AuditLog, KubeRepo, call, ok
from testkit import changes, wait_until

KINDS = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "Service": "/api/v1/namespaces/{ns}/services",
    "PodDisruptionBudget": "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    "HorizontalPodAutoscaler": "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers",
}


@pytest.fixture
def repo(tmp_path, kube_cluster, kubelet, namespace):
    repo = KubeRepo.create(tmp_path / "repo", kube_cluster, namespace)
    repo.deployment("blue")
    repo.register_image()
    return repo


def names(api, ns: str, kind: str) -> set[str]:
    items = ok(call(api, "GET", KINDS[kind].format(ns=ns)))["items"]
    return {i["metadata"]["name"] for i in items} - {"default", "kubernetes"}


def test_first_apply_creates_everything_and_the_second_plan_is_empty_with_zero_writes(repo, kube_api, audit: AuditLog):
    plan, outcome = repo.apply()
    assert changes(plan) == {"Deployment/blue": "create"}
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    for kind in ("ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert names(kube_api, repo.namespace, kind) == {"blue"}, kind
    dep = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{repo.namespace}/deployments/blue"))
    assert dep["status"]["availableReplicas"] == 2 and dep["status"]["updatedReplicas"] == 2

    since = audit.mark()
    plan, outcome = repo.apply()
    assert changes(plan) == {} and outcome is None, [(a.reasons, a.diffs) for a in plan.actions if a.is_change]
    events = audit.by_modelctl(since)
    assert AuditLog.writes(events) == []
    lists = [e for e in events if e["verb"] == "list"]
    assert lists and len(lists) == len({e["requestURI"] for e in lists}) <= 7  # one LIST per kind, nothing else
    assert {e["verb"] for e in events} == {"list"}


def test_a_field_changed_by_hand_is_drift_naming_its_manager_and_apply_corrects_it(repo, kube_api):
    from compiler.workflow import detect_drift

    repo.apply()
    ns = repo.namespace
    patch = {"spec": {"template": {"spec": {"terminationGracePeriodSeconds": 99}}}}
    ok(
        call(
            kube_api,
            "PATCH",
            f"/apis/apps/v1/namespaces/{ns}/deployments/blue",
            patch,
            query=[("fieldManager", "kubectl-edit")],
            ctype="application/strategic-merge-patch+json",
        )
    )
    plan = repo.plan()
    action = plan.action("Deployment/blue")
    assert action.action == "update"
    assert any("changed by hand by kubectl-edit" in r for r in action.reasons), action.reasons
    [diff] = [d for d in action.diffs if d.path.endswith("terminationGracePeriodSeconds")]
    assert (diff.before, diff.after) == (99, 40)
    report = detect_drift(repo.root)
    assert report.exit_code == 2 and [i.kind for i in report.items] == ["by-hand"]

    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    dep = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))
    assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 40
    assert changes(repo.plan()) == {}


def test_an_unlabelled_object_is_never_touched_and_prune_deletes_a_deployment_gone_from_git(repo, kube_api, audit):
    ns = repo.namespace
    repo.deployment("green", replicas=1)
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    # someone's own objects in the namespace: one without labels, one with another workspace's
    ok(
        call(
            kube_api,
            "POST",
            f"/api/v1/namespaces/{ns}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "theirs"},
                "spec": {"ports": [{"port": 80}], "selector": {"app": "theirs"}},
            },
        )
    )
    ok(
        call(
            kube_api,
            "POST",
            f"/api/v1/namespaces/{ns}/serviceaccounts",
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "other-ws",
                    "labels": {"app.kubernetes.io/managed-by": "modelctl", "modelctl.io/workspace": "someone-else"},
                    "annotations": {"modelctl.io/resource": "Deployment/other-ws"},
                },
            },
        )
    )
    repo.remove("deployments/green.yaml")
    since = audit.mark()
    plan, outcome = repo.apply()
    assert changes(plan) == {"Deployment/green": "delete"}
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    for kind in ("ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy"):
        assert "green" not in names(kube_api, ns, kind), kind
    assert "blue" in names(kube_api, ns, "Deployment")
    assert {"theirs", "blue"} <= names(kube_api, ns, "Service")
    assert "other-ws" in names(kube_api, ns, "ServiceAccount")
    touched = [w for w in AuditLog.writes(audit.by_modelctl(since)) if "theirs" in w or "other-ws" in w]
    assert touched == []
    assert changes(repo.plan()) == {}


def test_a_failing_rollout_rolls_back_and_names_the_pod_condition(repo, kube_api, kubelet):
    repo.apply()
    ns = repo.namespace
    before = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))
    old_cpu = before["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    repo.deployment("blue", cpu="200m", extra="  env: {CRASH_ME: '1'}\n")
    kubelet.fail(lambda pod: any(e.get("name") == "CRASH_ME" for e in pod["spec"]["containers"][0].get("env") or []))
    try:
        _, outcome = repo.apply()
    finally:
        kubelet.heal()
    assert outcome is not None and not outcome.ok
    [failed] = [r for r in outcome.results if r.resource == "Deployment/blue"]
    assert "the rollout failed" in failed.message and "CrashLoopBackOff" in failed.message, failed.message
    assert "condition Ready=False" in failed.message and "rolled back" in failed.message
    assert "event Warning BackOff: Back-off restarting failed container" in failed.message, failed.message

    def rolled_back():  # noqa: ANN202
        dep = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))
        spec = dep["spec"]["template"]["spec"]["containers"][0]
        st = dep.get("status", {})
        return (
            spec["resources"]["requests"]["cpu"] == old_cpu
            and st.get("updatedReplicas") == 2
            and st.get("availableReplicas") == 2
        )

    wait_until(rolled_back, timeout=60, message="the Deployment is back on its previous template")
    assert changes(repo.plan()) == {"Deployment/blue": "update"}
    from compiler.workflow import Session

    with Session.open(repo.root) as s:
        assert s.registry is not None
        last = s.registry.history(resource="Deployment/blue")[0]
    assert last.result == "failed" and "CrashLoopBackOff" in last.detail["error"]


def test_a_rollout_never_ready_times_out_and_rolls_back(repo, kube_api, kubelet, monkeypatch):
    repo.apply()
    ns = repo.namespace
    repo.deployment("blue", extra="  env: {NEVER_READY: '1'}\n")
    kubelet.fail(
        lambda pod: any(e.get("name") == "NEVER_READY" for e in pod["spec"]["containers"][0].get("env") or []),
        mode="never-ready",
    )
    monkeypatch.setenv("MODELCTL_KUBERNETES_ROLLOUT_TIMEOUT", "10")  # the new pod exists well before
    try:
        _, outcome = repo.apply()
    finally:
        kubelet.heal()
    [failed] = [r for r in outcome.results if r.resource == "Deployment/blue"]
    assert failed.result == "failed" and "not available after 10 s" in failed.message, failed.message
    assert "condition Ready=False (ContainersNotReady" in failed.message and "ready=False" in failed.message
    assert "rolled back to the previous template" in failed.message

    def back() -> bool:
        dep = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))
        env = dep["spec"]["template"]["spec"]["containers"][0].get("env") or []
        return not any(e["name"] == "NEVER_READY" for e in env) and dep["status"].get("availableReplicas") == 2

    wait_until(back, timeout=60, message="the previous template serves again")


ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {{name: web}}
spec: {{target: prod, path: /iris, traffic: {{{traffic}}}}}
"""


def test_weights_shift_only_after_the_new_deployment_rolled_out(repo, kube_api, audit: AuditLog):
    ns = repo.namespace
    repo.write("endpoints/web.yaml", ENDPOINT.format(traffic="blue: 100"))
    plan, outcome = repo.apply()
    assert changes(plan) == {"Deployment/blue": "create", "Endpoint/web": "create"}
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    route = ok(call(kube_api, "GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/web"))
    assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [("blue", 100)]

    repo.deployment("green", replicas=2)
    repo.write("endpoints/web.yaml", ENDPOINT.format(traffic="blue: 50, green: 50"))
    plan = repo.plan()
    assert changes(plan) == {"Deployment/green": "create", "Endpoint/web": "update"}
    stages = [s.resources for s in plan.stages]
    assert stages.index(("Deployment/green",)) < stages.index(("Endpoint/web",))
    since = audit.mark()
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    events = sorted(audit.by_modelctl(since), key=lambda e: e["requestReceivedTimestamp"])
    writes = [f"{e['verb']} {e['requestURI'].split('?')[0]}" for e in events if e["verb"] in ("patch", "create")]
    green = writes.index(f"patch /apis/apps/v1/namespaces/{ns}/deployments/green")
    shift = writes.index(f"patch /apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/web")
    assert green < shift
    # between them, modelctl saw green's rollout complete (its last GET of the Deployment)
    gets = [
        i
        for i, e in enumerate(events)
        if e["verb"] == "get" and e["requestURI"].startswith(f"/apis/apps/v1/namespaces/{ns}/deployments/green")
    ]
    patch_at = next(i for i, e in enumerate(events) if "httproutes/web" in e["requestURI"] and e["verb"] == "patch")
    assert gets and max(gets) < patch_at
    route = ok(call(kube_api, "GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/web"))
    assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [("blue", 50), ("green", 50)]
    assert changes(repo.plan()) == {}
    repo.remove("endpoints/web.yaml")
    plan, outcome = repo.apply()
    assert changes(plan) == {"Endpoint/web": "delete"} and outcome is not None and outcome.ok
    status, _ = call(kube_api, "GET", f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/web")
    assert status == 404


def test_reconcile_self_heal_takes_back_a_change_made_by_hand(repo, kube_api):
    import subprocess
    import sys

    from compiler.workflow import detect_drift

    repo.apply()
    ns = repo.namespace
    ok(
        call(
            kube_api,
            "PATCH",
            f"/apis/apps/v1/namespaces/{ns}/deployments/blue/scale",
            {"spec": {"replicas": 4}},
            query=[("fieldManager", "kubectl-scale")],
            ctype="application/merge-patch+json",
        )
    )
    report = detect_drift(repo.root)
    assert report.exit_code == 2 and [(i.resource, i.kind) for i in report.items] == [("Deployment/blue", "by-hand")]
    assert any("changed by hand by kubectl-scale" in r for r in report.items[0].reasons), report.items[0].reasons
    healed = subprocess.run(
        [sys.executable, "-m", "compiler.cli.main", "reconcile", str(repo.root), "--self-heal", "--allow-dirty"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))["spec"]["replicas"] == 2
    assert detect_drift(repo.root).exit_code == 0


def test_a_saved_plan_applies_and_is_refused_once_live_state_moved(repo, kube_api, tmp_path):
    from compiler.errors import StalePlan
    from compiler.plan.document import write_plan
    from compiler.workflow import apply_saved

    repo.apply()
    repo.deployment("blue", replicas=3)
    saved = tmp_path / "plan.json"
    write_plan(repo.plan(), saved)
    run = apply_saved(saved, allow_dirty=True)
    assert run.outcome is not None and run.outcome.ok, [r.message for r in run.outcome.results]
    assert (
        ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{repo.namespace}/deployments/blue"))["spec"]["replicas"]
        == 3
    )
    repo.deployment("blue", replicas=1)
    write_plan(repo.plan(), saved)
    ok(
        call(
            kube_api,
            "PATCH",
            f"/apis/apps/v1/namespaces/{repo.namespace}/deployments/blue",
            {"metadata": {"labels": {"x": "y"}}},
            query=[("fieldManager", "kubectl-label")],
            ctype="application/merge-patch+json",
        )
    )
    with pytest.raises(StalePlan, match="live state changed"):
        apply_saved(saved, allow_dirty=True)


def test_a_changed_model_rolls_the_deployment_before_the_weights_shift(repo, kube_api, audit: AuditLog):
    from compiler.graph import ImageNode
    from compiler.workflow import Session

    ns = repo.namespace
    repo.deployment("green", replicas=1)
    repo.write("endpoints/web.yaml", ENDPOINT.format(traffic="blue: 100, green: 0"))
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    # a new model file; version 2 and its image are registered as apply's build would (no Docker engine here)
    repo.write("artifacts/iris.bin", "iris v2")
    repo.write("endpoints/web.yaml", ENDPOINT.format(traffic="blue: 20, green: 80"))
    with Session.open(repo.root, writable=True) as s:
        assert s.registry is not None
        s.registry.register_model("iris", repo.root / "artifacts/iris.bin", framework="custom")
        image = s.graph.get_as("Image/scorer", ImageNode)
        s.registry.register_image(
            "scorer",
            fingerprint=image.fingerprint,
            models=[("iris", 2)],
            environment="curated/sklearn",
            image_ref="scorer@sha256:" + "d" * 64,
        )
    plan = repo.plan()
    assert changes(plan) == {
        "Deployment/blue": "update",
        "Deployment/green": "update",
        "Endpoint/web": "update",
    }
    assert any(r.startswith("roll out: ") for r in plan.action("Deployment/blue").reasons)
    assert plan.action("Endpoint/web").reasons == ("route: traffic blue 100%, green 0% → blue 20%, green 80%",)
    since = audit.mark()
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    events = sorted(audit.by_modelctl(since), key=lambda e: e["requestReceivedTimestamp"])
    uris = [e["requestURI"].split("?")[0] for e in events if e["verb"] == "patch"]
    shift = uris.index(f"/apis/gateway.networking.k8s.io/v1/namespaces/{ns}/httproutes/web")
    for name in ("blue", "green"):
        assert uris.index(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}") < shift
    dep = ok(call(kube_api, "GET", f"/apis/apps/v1/namespaces/{ns}/deployments/blue"))
    assert dep["status"]["updatedReplicas"] == 2 and dep["status"]["availableReplicas"] == 2
    assert changes(repo.plan()) == {}
