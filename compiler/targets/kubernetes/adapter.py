"""Applying a deployment to a kubernetes target, in order, with server-side apply:

ServiceAccount → Deployment → wait for its rollout (observedGeneration, updated/available replicas,
old pods gone; `ProgressDeadlineExceeded`, a crash-looping or unpullable new pod, or the timeout
fail it) → Service, PodDisruptionBudget, HorizontalPodAutoscaler, NetworkPolicy → objects of the
deployment git no longer wants are deleted.

A failed rollout rolls the Deployment back to the template modelctl applied before (read from its
managed fields) — or removes it when there was none — and the error names the failing pods'
conditions and container states. Only objects labelled for this workspace are ever deleted.
Every step is idempotent: an apply killed mid-rollout converges on the next one.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from ...errors import ApplyError
from ...graph import DeploymentNode, EndpointNode, Graph
from ...plan.target import Activity, DeployRequest, DeployResult, FactsRequest, Progress, TargetFacts
from ...render.kubernetes import endpoint_gateway, http_route
from ...spec.workspace import Target
from .connection import BY_KIND, DEPLOYMENT, DEPLOYMENT_KINDS, ENDPOINT_KINDS, EVENT, POD, Cluster, KubeError, conflicts
from .facts import FINGERPRINT, RESOURCE, TARGET, Rollout, _mine, selector
from .planning import desired_objects, service_url
from .reader import read_kubernetes_facts

FAILING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "InvalidImageName", "CreateContainerConfigError")
POLL = 0.25


def rollout_seconds(req: DeployRequest) -> float:
    """How long a rollout may take: MODELCTL_KUBERNETES_ROLLOUT_TIMEOUT, else from the readiness probe."""
    env = os.environ.get("MODELCTL_KUBERNETES_ROLLOUT_TIMEOUT")
    if env:
        return float(env)
    probe = req.spec.probes.readiness
    per_pod = probe.initial_delay_seconds + probe.period_seconds * probe.failure_threshold + 60
    return float(max(120, per_pod * max(1, req.spec.replicas)))


class KubernetesDeployments:
    """The kubernetes target type's connection: one API client per target, read for facts and driven by apply."""

    def __init__(
        self, workspace: str, root: Path, *, force_conflicts: bool = False, graph: Graph | None = None
    ) -> None:
        self.workspace, self.root = workspace, Path(root)
        self.force_conflicts = force_conflicts
        self.graph = graph
        self._clusters: dict[str, Cluster] = {}
        self._guard = threading.Lock()
        self._settings: dict[str, Target] = {}

    def cluster(self, target_name: str, target: Target) -> Cluster:
        from .connection import kubernetes_settings

        with self._guard:
            if target_name not in self._clusters:
                self._clusters[target_name] = Cluster(target_name, kubernetes_settings(target), self.root)
            return self._clusters[target_name]

    def read_facts(self, request: FactsRequest) -> dict[str, TargetFacts]:
        settings = dict(request.targets)
        return dict(read_kubernetes_facts(lambda name: self.cluster(name, settings[name]), request))

    def close(self) -> None:
        for cluster in self._clusters.values():
            cluster.close()
        self._clusters.clear()

    # --- deploy ----------------------------------------------------------------------------------

    def deploy(self, req: DeployRequest, *, progress: Progress) -> DeployResult:
        if self.graph is None:
            raise ApplyError(
                f"{req.resource}: kubernetes targets need the compiled graph to apply", resource=req.resource
            )
        node = self.graph.get_as(req.resource, DeploymentNode)
        cluster = self.cluster(req.target_name, req.target)
        try:
            return self._deploy(cluster, req, node, progress)
        except KubeError as exc:
            raise ApplyError(f"{req.resource}: {exc}", resource=req.resource) from None

    def _deploy(self, cluster: Cluster, req: DeployRequest, node: DeploymentNode, progress: Progress) -> DeployResult:
        assert self.graph is not None
        objects = desired_objects(self.graph, node, req.image_ref)
        notes: list[str] = []
        by_kind = {o["kind"]: o for o in objects}
        if "ServiceAccount" in by_kind:
            progress("applying ServiceAccount")
            self._apply(cluster, req.resource, req.fingerprint, by_kind["ServiceAccount"], None, notes)
        previous = cluster.get(DEPLOYMENT, req.name)
        progress("applying Deployment")
        self._apply(cluster, req.resource, req.fingerprint, by_kind["Deployment"], previous, notes)
        self._wait_rollout(cluster, req, previous, progress)
        for obj in objects:
            if obj["kind"] not in ("ServiceAccount", "Deployment"):
                progress(f"applying {obj['kind']}")
                self._apply(cluster, req.resource, req.fingerprint, obj, None, notes)
        wanted = {(o["kind"], o["metadata"]["name"]) for o in objects}
        for kind, name in self._owned(cluster, req.target_name, "Deployment", req.name):
            if (kind.kind, name) not in wanted:
                progress(f"deleting {kind.kind} {name}")
                cluster.delete(kind, name)
                notes.append(f"deleted {kind.kind} {name} (no longer wanted)")
        return DeployResult(url=service_url(node), container=req.name, notes=tuple(notes))

    def _apply(
        self,
        cluster: Cluster,
        resource: str,
        fingerprint: str,
        obj: dict[str, Any],
        live: dict[str, Any] | None,
        notes: list[str],
    ) -> dict[str, Any]:
        """Server-side apply without force; a conflict on an object git has not changed since modelctl
        last applied it is a field changed by hand, taken back with force. Any other conflict is refused."""
        try:
            return cluster.apply(obj)
        except KubeError as exc:
            found = conflicts(exc) if exc.status == 409 else []
            if not found:
                raise
        kind, name = BY_KIND[obj["kind"]], obj["metadata"]["name"]
        live = live if live is not None else cluster.get(kind, name)
        fields = ", ".join(f"{f} (owned by {m})" for m, f in found)
        applied = ((live or {}).get("metadata") or {}).get("annotations", {}).get(FINGERPRINT)
        if applied != fingerprint and not self.force_conflicts:
            raise ApplyError(
                f"{resource}: server-side apply of {obj['kind']} {name} conflicts with another field manager: "
                f"{fields}. git changes fields someone else now owns; apply with --force-conflicts to take them "
                "over, or settle it with their owner first",
                resource=resource,
            )
        why = "forced (--force-conflicts)" if applied != fingerprint else "changed by hand"
        notes.append(f"took over fields {why} on {obj['kind']} {name}: {fields}")
        return cluster.apply(obj, force=True)

    def _owned(self, cluster: Cluster, target_name: str, of: str, name: str) -> list[tuple[Any, str]]:
        """(kind, name) of every live object of the deployment (or endpoint) that carries this workspace's labels."""
        out = []
        labels = {"modelctl.io/kind": of, "modelctl.io/name": name}
        for kind in DEPLOYMENT_KINDS if of == "Deployment" else ENDPOINT_KINDS:
            for item in cluster.list(kind, selector(self.workspace, **labels)) or []:
                meta = item.get("metadata") or {}
                if (meta.get("annotations") or {}).get(RESOURCE) == f"{of}/{name}" and (meta.get("labels") or {}).get(
                    TARGET
                ) == target_name:
                    out.append((kind, str(meta.get("name"))))
        return out

    # --- rollout ---------------------------------------------------------------------------------

    def _wait_rollout(
        self, cluster: Cluster, req: DeployRequest, previous: dict[str, Any] | None, progress: Progress
    ) -> None:
        timeout = rollout_seconds(req)
        deadline = time.monotonic() + timeout
        pods_checked = 0.0
        while True:
            live = cluster.get(DEPLOYMENT, req.name)
            if live is None:
                raise ApplyError(f"{req.resource}: the Deployment vanished during its rollout", resource=req.resource)
            rollout = Rollout.of(live)
            if rollout.complete:
                return
            progress(f"rollout: {rollout.updated}/{rollout.replicas} updated, {rollout.available} available")
            failure = None
            if rollout.failed and rollout.observed_generation >= rollout.generation:
                failure = rollout.failed
            elif time.monotonic() >= deadline:
                failure = f"not available after {timeout:g} s"
            elif time.monotonic() - pods_checked >= 1.0:
                pods_checked = time.monotonic()
                failing = [p for p in self._new_pods(cluster, req) if _waiting_reason(p) in FAILING]
                if failing:
                    failure = f"pod {failing[0]['metadata']['name']} is in {_waiting_reason(failing[0])}"
            if failure is not None:
                report = self._pods_report(cluster, req)
                kept = self._roll_back(cluster, req, previous, progress)
                raise ApplyError(
                    f"{req.resource}: the rollout failed: {failure}; {kept}.\n{report}", resource=req.resource
                )
            time.sleep(POLL)

    def _new_pods(self, cluster: Cluster, req: DeployRequest) -> list[dict[str, Any]]:
        sel = f"app.kubernetes.io/instance={req.name},modelctl.io/kind=Deployment"
        pods = cluster.list(POD, sel) or []
        return [
            p for p in pods if ((p.get("metadata") or {}).get("annotations") or {}).get(FINGERPRINT) == req.fingerprint
        ]

    def _pods_report(self, cluster: Cluster, req: DeployRequest) -> str:
        lines = [line for pod in self._new_pods(cluster, req)[:3] for line in _pod_lines(cluster, pod)]
        return "\n".join(lines) or "(no new pod was created)"

    def activity(self, target_name: str, target: Target, name: str, tail: int = 50) -> list[Activity]:
        """Every pod of the deployment (read-only): its phase, conditions, container states, last events."""
        cluster = self.cluster(target_name, target)
        pods = cluster.list(POD, f"app.kubernetes.io/instance={name},modelctl.io/kind=Deployment") or []
        return [Activity(f"pod {p['metadata']['name']}", tuple(_pod_lines(cluster, p)[-tail:])) for p in pods[:10]]

    def _roll_back(
        self, cluster: Cluster, req: DeployRequest, previous: dict[str, Any] | None, progress: Progress
    ) -> str:
        if previous is None:
            progress("removing the failed Deployment")
            cluster.delete(DEPLOYMENT, req.name)
            return "removed the new Deployment (nothing was serving before)"
        owned = _mine(previous)
        if not owned.get("spec"):
            return "left as is (modelctl had applied no earlier template)"
        meta = dict(owned.get("metadata") or {})
        meta.update(name=req.name, namespace=cluster.namespace)
        progress("rolling back")
        cluster.apply({**owned, "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta}, force=True)
        return "rolled back to the previous template (its pods keep serving)"

    # --- delete ----------------------------------------------------------------------------------

    def delete(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None:
        cluster = self.cluster(target_name, target)
        try:
            for kind, obj in reversed(self._owned(cluster, target_name, "Deployment", name)):
                progress(f"deleting {kind.kind} {obj}")
                cluster.delete(kind, obj)
        except KubeError as exc:
            raise ApplyError(f"Deployment/{name}: {exc}", resource=f"Deployment/{name}") from None

    def route_endpoint(
        self,
        target_name: str,
        target: Target,
        name: str,
        traffic: dict[str, int],
        path: str,
        fingerprint: str,
        *,
        progress: Progress,
    ) -> str:
        """Apply the endpoint's HTTPRoute (the executor runs this after its deployments rolled out)."""
        resource = f"Endpoint/{name}"
        if self.graph is None:
            raise ApplyError(f"{resource}: kubernetes targets need the compiled graph to apply", resource=resource)
        node = self.graph.get_as(resource, EndpointNode)
        cluster = self.cluster(target_name, target)
        notes: list[str] = []
        try:
            gateway = endpoint_gateway(self.graph, node)
            if gateway is not None:  # tls: the endpoint's own Gateway with an HTTPS listener
                progress("applying Gateway")
                self._apply(cluster, resource, fingerprint, gateway, None, notes)
            progress("applying HTTPRoute")
            self._apply(cluster, resource, fingerprint, http_route(self.graph, node), None, notes)
        except KubeError as exc:
            raise ApplyError(f"{resource}: {exc}", resource=resource) from None
        host = sorted(node.spec.hostnames)[0] if node.spec.hostnames else None
        scheme = "https" if node.spec.tls else "http"
        return f"{scheme}://{host}{path}" if host else f"httproute/{cluster.namespace}/{name}"

    def teardown(self, target_name: str, target: Target, *, progress: Progress) -> None:
        pass  # every object modelctl applies belongs to a deployment or an endpoint (deleted with it)

    def delete_endpoint(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None:
        cluster = self.cluster(target_name, target)
        try:
            for kind, obj in self._owned(cluster, target_name, "Endpoint", name):
                progress(f"deleting {kind.kind} {obj}")
                cluster.delete(kind, obj)
        except KubeError as exc:
            raise ApplyError(f"Endpoint/{name}: {exc}", resource=f"Endpoint/{name}") from None


def _waiting_reason(pod: dict[str, Any]) -> str:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            return str(waiting.get("reason", ""))
    return ""


def _pod_lines(cluster: Cluster, pod: dict[str, Any]) -> list[str]:
    """A pod as a failed rollout reports it: phase, conditions, container states, its last 5 events."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    lines = [f"--- pod {name}: phase {status.get('phase', '?')}"]
    for c in status.get("conditions") or []:
        extra = " ".join(x for x in (c.get("reason"), c.get("message")) if x)
        lines.append(f"  condition {c.get('type')}={c.get('status')}" + (f" ({extra})" if extra else ""))
    for cs in status.get("containerStatuses") or []:
        for state, detail in (cs.get("state") or {}).items():
            extra = " ".join(str(x) for x in (detail.get("reason"), detail.get("message")) if x)
            lines.append(
                f"  container {cs.get('name')}: {state}"
                + (f" {extra}" if extra else "")
                + f", ready={cs.get('ready')}, restarts={cs.get('restartCount', 0)}"
            )
    try:
        _, events = cluster.request(
            "GET",
            EVENT.collection(cluster.namespace),
            query=[("fieldSelector", f"involvedObject.name={name}")],
            what="list events",
        )
        for e in (events.get("items") or [])[-5:]:
            lines.append(f"  event {e.get('type')} {e.get('reason')}: {e.get('message')}")
    except KubeError:
        pass
    return lines
