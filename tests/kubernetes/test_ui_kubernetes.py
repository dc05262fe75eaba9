"""`modelctl ui` over a kubernetes target on the real control plane: the graph shows the rollout's
ready/desired and the Deployment's conditions; a deployment's details show each pod's phase,
conditions and, once its container crash-loops, the kubelet's BackOff events."""

from __future__ import annotations

import sys
from pathlib import Path

from kube_support import KubeRepo
from testkit import wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from ui_support import ui_server  # noqa: E402


def test_the_dashboard_shows_pods_conditions_and_events(tmp_path, kube_cluster, kubelet, namespace):
    repo = KubeRepo.create(tmp_path / "repo", kube_cluster, namespace)
    repo.deployment("blue")
    repo.register_image()
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    with ui_server(repo.root) as ui:
        [blue] = [n for n in ui.get("/api/v1/graph").json()["nodes"] if n["id"] == "Deployment/blue"]
        assert blue["targetType"] == "kubernetes" and blue["drift"] == "in sync"
        assert (blue["ready"], blue["desired"]) == (2, 2) and blue["health"].startswith("2/2 ready")
        assert any(c.startswith("Available=True") for c in blue["conditions"]), blue["conditions"]

        detail = ui.get("/api/v1/deployments/blue").json()
        pods = detail["activity"]["replicas"]
        assert len(pods) == 2 and all(p["source"].startswith("pod blue-") for p in pods), pods
        assert all("phase Running" in p["lines"][0] for p in pods)
        assert all(any(line.strip().startswith("condition Ready=True") for line in p["lines"]) for p in pods)

        kubelet.fail(lambda pod: pod["metadata"]["namespace"] == namespace)
        try:

            def backoff() -> list:
                pods = ui.get("/api/v1/deployments/blue").json()["activity"]["replicas"]
                return [p for p in pods if any("event Warning BackOff" in line for line in p["lines"])]

            crashing = wait_until(backoff, timeout=90, interval=2, message="a pod's BackOff event is shown")
            assert any("CrashLoopBackOff" in line for line in crashing[0]["lines"]), crashing[0]
        finally:
            kubelet.heal()
