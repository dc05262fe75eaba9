"""Regenerate tests/plan/kubernetes_live/*.json: objects as a real API server returns them.

    python tests/kubernetes/capture_live.py KUBECONFIG

Applies `desired.json` (a Deployment as modelctl renders it) with modelctl's field manager into a
fresh namespace, lets the controllers act, then records the live Deployment (`live.json`), the same
after `kubectl edit`-style changes by another manager (`edited.json`), and after an autoscaler's
scale decision (`scaled.json`, for a desired object without replicas).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

from kubernetes import config

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
from kube_support import call, ok  # noqa: E402

HERE = Path(__file__).resolve().parents[1] / "plan" / "kubernetes_live"


def main(kubeconfig: str) -> None:
    api = config.new_client_from_config(config_file=kubeconfig)
    ns = "capture-" + uuid.uuid4().hex[:6]
    ok(call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
    desired = json.loads((HERE / "desired.json").read_text())
    url = f"/apis/apps/v1/namespaces/{ns}/deployments/blue"

    def apply(obj: dict, force: bool = False) -> None:
        body = json.loads(json.dumps(obj).replace('"namespace": "models"', f'"namespace": "{ns}"'))
        ok(
            call(
                api,
                "PATCH",
                url,
                body,
                query=[("fieldManager", "modelctl"), ("force", str(force).lower())],
                ctype="application/apply-patch+yaml",
            )
        )

    def save(name: str) -> None:
        time.sleep(2)  # the deployment controller writes its annotation and status
        live = ok(call(api, "GET", url))
        text = json.dumps(live, indent=1, sort_keys=True).replace(ns, "models")
        (HERE / name).write_text(text + "\n")

    apply(desired)
    save("live.json")
    patch = {"spec": {"template": {"spec": {"terminationGracePeriodSeconds": 99}}}}
    ok(
        call(
            api,
            "PATCH",
            url,
            patch,
            query=[("fieldManager", "kubectl-edit")],
            ctype="application/strategic-merge-patch+json",
        )
    )
    save("edited.json")
    no_replicas = json.loads(json.dumps(desired))
    del no_replicas["spec"]["replicas"]
    apply(no_replicas, force=True)  # takes the edited field back, gives replicas up
    ok(
        call(
            api,
            "PATCH",
            url + "/scale",
            {"spec": {"replicas": 5}},
            query=[("fieldManager", "horizontal-pod-autoscaler")],
            ctype="application/merge-patch+json",
        )
    )
    save("scaled.json")
    call(api, "DELETE", f"/api/v1/namespaces/{ns}")


if __name__ == "__main__":
    main(sys.argv[1])
