"""An apply SIGKILLed mid-rollout converges on the next apply."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from kube_support import KubeRepo, call, ok
from testkit import changes, wait_until


def _has_env(pod: dict, name: str) -> bool:
    return any(e.get("name") == name for e in pod["spec"]["containers"][0].get("env") or [])


def test_an_apply_killed_mid_rollout_converges_on_the_next_apply(tmp_path, kube_cluster, kubelet, kube_api, namespace):
    repo = KubeRepo.create(tmp_path / "repo", kube_cluster, namespace)
    repo.deployment("blue", replicas=2)
    repo.register_image()
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok
    repo.deployment("blue", replicas=2, extra="  env: {NEXT: '1'}\n")
    kubelet.fail(lambda pod: _has_env(pod, "NEXT"), mode="never-ready")  # the rollout stalls
    url = f"/apis/apps/v1/namespaces/{namespace}/deployments/blue"
    env = {**os.environ, "MODELCTL_KUBERNETES_ROLLOUT_TIMEOUT": "300"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "compiler.cli.main", "apply", str(repo.root), "--auto-approve", "--allow-dirty"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:

        def rolling() -> bool:
            dep = ok(call(kube_api, "GET", url))
            new = [e for e in dep["spec"]["template"]["spec"]["containers"][0].get("env", []) if e["name"] == "NEXT"]
            return bool(new) and dep.get("status", {}).get("updatedReplicas", 0) >= 1

        wait_until(rolling, timeout=120, message="the new template is rolling out")
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        kubelet.heal()
    plan = repo.plan()
    assert changes(plan) == {"Deployment/blue": "update"}, plan.actions
    _, outcome = repo.apply()
    assert outcome is not None and outcome.ok, [r.message for r in outcome.results]
    dep = ok(call(kube_api, "GET", url))
    assert dep["status"]["updatedReplicas"] == 2 and dep["status"]["availableReplicas"] == 2
    assert changes(repo.plan()) == {}
