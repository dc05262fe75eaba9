"""Planning for kubernetes targets, pure: the objects `render/kubernetes.py` renders for a deployment,
compared with the fields modelctl's field manager owns on the live objects.

- no object of the deployment is live → create;
- a field differs → update, with a field diff per path (`Deployment.spec.template.spec.containers[scorer].image`);
  a field modelctl applies that another field manager took over is "changed by hand by <manager>";
- an object is missing, or one is live that git no longer wants (an HPA after `autoscale` went) → update;
- with `autoscale`, `spec.replicas` is not applied (the autoscaler owns it), so its scaling never shows.
Server defaults, `status`, `resourceVersion` and other controllers' annotations are never compared:
modelctl owns none of them.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ...errors import PlanError
from ...graph import DeploymentNode, EndpointNode, Graph, target_as
from ...plan.deployments import creation_diffs, deployment_action, desired_image, record_outdated
from ...plan.model import Action, DeploymentChange, EndpointChange, FieldDiff, Removal
from ...plan.target import PlanContext, Running
from ...render.kubernetes import deployment_objects, endpoint_gateway, http_route
from ...render.runtime_settings import auth_secret
from ...spec.workspace import KubernetesTarget
from .facts import KubernetesFacts, ObjectFact, flatten


def desired_objects(graph: Graph, node: DeploymentNode, image_ref: str) -> list[dict[str, Any]]:
    """What apply applies for the deployment: the rendered objects, with the image reference the plan deploys."""
    objects = deployment_objects(graph, node)
    for obj in objects:
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                container["image"] = image_ref
    return objects


def secret_names(node: DeploymentNode) -> list[str]:
    """The Secrets a deployment's pods mount or read (names only): its auth secret (the tls secret holds
    the mtls files when `tls` is set), its tls secret and `secretEnv` refs."""
    tls = node.spec.tls.secret_ref if node.spec.tls else None
    auth = None if tls and node.spec.auth.mode == "mtls" else auth_secret(node.name, node.spec.auth)
    names = [n for n in (auth, tls) if n]
    return sorted({*names, *(ref.secret_ref for ref in node.spec.secret_env.values())})


def service_url(node: DeploymentNode) -> str:
    return f"{'https' if node.spec.tls else 'http'}://{node.name}.{target_as(node, KubernetesTarget).namespace}.svc.cluster.local"


def _facts(ctx: PlanContext, target_name: str) -> KubernetesFacts:
    found = ctx.facts(target_name)
    return found if isinstance(found, KubernetesFacts) else KubernetesFacts("")


_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([a-zA-Z]*)$")
_SUFFIX: dict[str, Decimal | int] = {
    "": 1, "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def _quantity(value: Any) -> Decimal | None:
    m = _QUANTITY.match(str(value)) if isinstance(value, str | int) and not isinstance(value, bool) else None
    if m is None or m.group(2) not in _SUFFIX:
        return None
    try:
        return Decimal(m.group(1)) * Decimal(_SUFFIX[m.group(2)])
    except InvalidOperation:
        return None


def same(path: str, want: Any, have: Any) -> bool:
    """Equal as the API server sees them: resource quantities by value ("0.5" is "500m")."""
    if want == have:
        return True
    if ".resources." in f".{path}" or path.endswith("sizeLimit"):
        a, b = _quantity(want), _quantity(have)
        return a is not None and a == b
    return False


def compare(obj: dict[str, Any], fact: ObjectFact) -> tuple[list[FieldDiff], list[str]]:
    """Field diffs of one object (paths prefixed by its kind) and the managers that changed fields by hand."""
    want = {p: v for p, v in flatten(obj).items() if p not in ("apiVersion", "kind")}
    have = {p: v for p, v in flatten(fact.owned).items() if p not in ("apiVersion", "kind")}
    others: dict[str, tuple[str, str]] = {}
    for path, manager, value in fact.others:
        others.setdefault(path, (manager, value))
    diffs: list[FieldDiff] = []
    managers: list[str] = []
    for path in sorted(set(want) | set(have)):
        if path in ("metadata.name", "metadata.namespace"):
            continue
        if path in want and path in have and same(path, want[path], have[path]):
            continue
        if path in want and path not in have and path not in others and want[path] in (0, "", [], {}, False):
            continue  # the API server leaves zero values out of what it returns (omitempty)
        before = have.get(path)
        if path in want and path in others and (path not in have or not same(path, want[path], have[path])):
            manager, value = others[path]
            before = json.loads(value)
            if same(path, want[path], before):
                continue  # another manager co-owns the value git wants: nothing to change
            if manager not in managers:
                managers.append(manager)
        diffs.append(FieldDiff(f"{obj['kind']}.{path}", before, want.get(path)))
    return diffs, managers


def plan_deployment(ctx: PlanContext, node: DeploymentNode) -> Action:
    facts = _facts(ctx, node.target_name)
    missing = [name for name, exists in facts.secrets if not exists and name in secret_names(node)]
    if missing:
        raise PlanError(
            f"{node.id}: secret{'s' * (len(missing) > 1)} {', '.join(missing)} not found in namespace "
            f"{facts.namespace} of target {node.target_name}; create {'them' if len(missing) > 1 else 'it'} first "
            "(modelctl references secrets by name and never creates or reads their values)"
        )
    image_node, image_action, ref = desired_image(ctx, node)
    change = DeploymentChange(image_node.name, ref, service_url(node), None)
    live = facts.of(node.id)
    if not live:
        return deployment_action(
            node,
            "create",
            [f"deploy: {node.name} on target {node.target_name} (namespace {facts.namespace or '?'}) from {ref}"],
            creation_diffs(node, ref),
            change,
        )
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    wanted = desired_objects(ctx.graph, node, ref)
    for obj in wanted:
        kind, name = obj["kind"], obj["metadata"]["name"]
        fact = facts.find(kind, name)
        if fact is None or fact.resource != node.id:
            reasons.append(f"create: {kind} {name} is missing")
            diffs.append(FieldDiff(kind, None, name))
            continue
        changed, managers = compare(obj, fact)
        diffs += changed
        for manager in managers:
            paths = [d.path for d in changed if d.path.startswith(kind + ".")]
            reasons.append(f"changed by hand by {manager}: {', '.join(paths[:3])}{' …' if len(paths) > 3 else ''}")
        if changed and not managers:
            paths = [d.path for d in changed]
            if kind == "Deployment" and fact.fingerprint != node.fingerprint:
                image = next((d for d in changed if d.path.endswith(".image")), None)
                if image is not None:
                    why = ""
                    if image_action is not None and image_action.is_change:
                        models = [r.split(": ", 1)[-1] for r in image_action.reasons if r.startswith("rebuild: model")]
                        why = f" ({'; '.join(models)})" if models else " (rebuilt)"
                    reasons.append(f"roll out: image {image_node.name} changed{why}")
                else:
                    reasons.append(f"roll out: {', '.join(paths[:3])}{' …' if len(paths) > 3 else ''} changed")
            else:
                reasons.append(f"update: {kind} {', '.join(paths[:3])}{' …' if len(paths) > 3 else ''} changed")
    wanted_ids = {(o["kind"], o["metadata"]["name"]) for o in wanted}
    for fact in live:
        if (fact.kind, fact.name) not in wanted_ids:
            reasons.append(f"remove: {fact.kind} {fact.name} is no longer wanted")
            diffs.append(FieldDiff(fact.kind, fact.name, None))
    deployment = facts.find("Deployment", node.name)
    if not reasons and deployment is not None and deployment.rollout and deployment.rollout.failed:
        reasons.append(f"roll out: the last rollout failed ({deployment.rollout.failed.split(':', 1)[0]})")
    if not reasons and record_outdated(ctx, node):
        reasons.append("record: the registry's deployment record is missing or outdated")
    return deployment_action(node, "update" if reasons else "no-op", reasons, diffs, change)


def _split(traffic: dict[str, int]) -> str:
    return ", ".join(f"{d} {w}%" for d, w in sorted(traffic.items())) or "no deployments"


def _weights(route: dict[str, Any]) -> dict[str, int]:
    rules = (route.get("spec") or {}).get("rules") or [{}]
    return {str(b.get("name")): int(b.get("weight", 1)) for b in rules[0].get("backendRefs") or []}


def plan_endpoint(ctx: PlanContext, node: EndpointNode) -> Action:
    """An endpoint on a kubernetes target: its Gateway API HTTPRoute, applied after its deployments."""
    facts = _facts(ctx, node.target_name)
    if "HTTPRoute" in facts.unserved:
        raise PlanError(
            f"{node.id}: the cluster of target {node.target_name} does not serve HTTPRoute "
            "(gateway.networking.k8s.io/v1): install the Gateway API CRDs there, or move the endpoint to another target"
        )
    traffic = dict(sorted(node.spec.traffic.items()))
    change = EndpointChange(tuple(traffic.items()), node.spec.path, None)
    desired = http_route(ctx.graph, node)
    fact = facts.find("HTTPRoute", node.name)
    common = {"target": node.target_name, "fingerprint": node.fingerprint, "change": change}
    gateway = endpoint_gateway(ctx.graph, node)
    if gateway is not None and "Gateway" in facts.unserved:
        raise PlanError(
            f"{node.id}: the cluster of target {node.target_name} does not serve Gateway "
            "(gateway.networking.k8s.io/v1), which an endpoint with tls needs: install the Gateway API CRDs there"
        )
    if fact is None or fact.resource != node.id:
        return Action(
            node.id,
            "create",
            (f"route: endpoint {node.name} on target {node.target_name} ({_split(traffic)})",),
            tuple(FieldDiff(f"traffic.{d}", None, w) for d, w in traffic.items()),
            **common,  # type: ignore[arg-type]
        )
    diffs, managers = compare(desired, fact)
    live_gateway = facts.find("Gateway", node.name)
    if gateway is not None and live_gateway is None:
        diffs.append(FieldDiff("Gateway", None, node.name))
    elif gateway is not None and live_gateway is not None:
        more, by_hand = compare(gateway, live_gateway)
        diffs += more
        managers += [m for m in by_hand if m not in managers]
    if not diffs:
        return Action(node.id, "no-op", **common)  # type: ignore[arg-type]
    before = _weights(fact.owned)
    reasons = [f"changed by hand by {m}: HTTPRoute {node.name}" for m in managers]
    if before != traffic:
        reasons.append(f"route: traffic {_split(before)} → {_split(traffic)}")
    elif not managers:
        reasons.append("route: endpoint definition changed")
    return Action(node.id, "update", tuple(reasons), tuple(diffs), **common)  # type: ignore[arg-type]


def running(ctx: PlanContext, target_name: str) -> list[Running]:
    """Every deployment and endpoint with labelled objects of this workspace on the target."""
    facts = _facts(ctx, target_name)
    objects: dict[str, list[str]] = {}
    protected: dict[str, bool] = {}
    endpoints: list[Running] = []
    for o in facts.objects:
        kind, _, name = o.resource.partition("/")
        if kind == "Endpoint" and name and o.kind == "HTTPRoute":
            endpoints.append(Running("Endpoint", Removal(name, endpoint=True), FieldDiff("HTTPRoute", name, None)))
        if kind != "Deployment" or not name:
            continue
        objects.setdefault(name, []).append(f"{o.kind}/{o.name}")
        protected[name] = protected.get(name, False) or o.prevent_destroy
    return [
        Running(
            "Deployment",
            Removal(name, containers=tuple(sorted(found))),
            FieldDiff("objects", sorted(found), None),
            protected[name],
        )
        for name, found in sorted(objects.items())
    ] + endpoints
