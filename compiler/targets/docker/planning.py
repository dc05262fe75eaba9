"""Planning for docker targets, pure: a deployment's containers and route, an endpoint's listener,
and what runs that git may no longer want — from the spec and the target's `DockerFacts`.

A deployment is rolled out when the container receiving traffic runs another fingerprint; repaired
when the router, a replica or the registry record is missing; rolled when a secret value rotated or
its containers (or the router) have the names of an earlier version (`names.py`).
"""

from __future__ import annotations

from ...graph import DeploymentNode, EndpointNode
from ...plan.deployments import (
    creation_diffs,
    deployment_action,
    deployment_spec_json,
    desired_image,
    record_outdated,
    rollout,
)
from ...plan.model import Action, DeploymentChange, EndpointChange, FieldDiff, Removal
from ...plan.target import PlanContext, Running
from ...spec.common import Tls
from ..tls_checks import needs_client_ca
from .facts import ContainerFact, DockerFacts
from .router_tls import TlsRoute
from .secret_refs import secret_refs


def _facts(ctx: PlanContext, target_name: str) -> DockerFacts:
    found = ctx.facts(target_name)
    return found if isinstance(found, DockerFacts) else DockerFacts()


def rotated_secrets(container: ContainerFact, facts: DockerFacts, refs: tuple[str, ...]) -> list[str]:
    """Secrets whose value now differs from the one `container` started with (ids, never values).
    Nothing is compared for a container that recorded no digests, or a secret that was not read."""
    if container.secrets is None:
        return []
    started = dict(container.secrets)
    out = []
    for ref in refs:
        if ref not in facts.secrets:
            continue
        now = facts.secrets[ref]
        if now is None:
            out.append(f"{ref} (not found; apply generates a new key)" if "/" not in ref else f"{ref} (not found)")
        elif started.get(ref) != now:
            out.append(ref)
    return out


def tls_change(current: TlsRoute | None, tls: Tls | None, verify_client: bool, facts: DockerFacts) -> str | None:
    """Why the router's TLS for a route must change (None: it serves what git wants). A rotated
    certificate (same secret, new files) is a graceful reload of the router: no container is replaced."""
    if tls is None:
        return "router: serve plain HTTP (tls removed)" if current is not None else None
    if tls.secret_ref not in facts.tls:
        return None  # not read (out of scope)
    now = facts.tls[tls.secret_ref]
    if now is None:
        return f"router: tls secret '{tls.secret_ref}' not found"
    if current == TlsRoute(tls.secret_ref, now, verify_client):
        return None
    if current is None:
        return f"router: serve HTTPS with the certificate of tls secret '{tls.secret_ref}'"
    if (current.secret, current.verify_client) == (tls.secret_ref, verify_client):
        return f"router: certificate of tls secret '{tls.secret_ref}' changed: graceful reload, no container replaced"
    return f"router: TLS settings changed (tls secret '{tls.secret_ref}'): graceful reload"


def plan_deployment(ctx: PlanContext, node: DeploymentNode) -> Action:
    facts = _facts(ctx, node.target_name)
    image_node, image_action, ref = desired_image(ctx, node)
    router = facts.router
    route = router.route(node.name) if router else None
    containers = facts.of(node.name)
    serving = {name for name, _ in route.servers} if route else set()
    replicas = [c for c in containers if c.name in serving]
    active = replicas[0] if replicas else None
    scheme = "https" if node.spec.tls else "http"
    url = f"{scheme}://{router.bind_address}:{route.port}" if route and router else None
    change = DeploymentChange(image_node.name, ref, url, route.port if route else None)
    if not containers and route is None:
        return deployment_action(
            node,
            "create",
            [f"deploy: {node.name} on target {node.target_name} from {ref}"],
            creation_diffs(node, ref),
            change,
        )
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    if active is None:
        reasons.append("route: no healthy container receives the traffic")
    elif active.fingerprint != node.fingerprint:
        reasons, diffs = rollout(
            image_node, image_action, active.image_ref, ref, active.spec, deployment_spec_json(node)
        )
    else:
        for c in replicas:
            if not c.running:
                reasons.append(f"restart: container {c.name} is {c.state}")
        rotated = rotated_secrets(active, facts, secret_refs(node.name, node.spec))
        if rotated:
            reasons.append(f"roll out: secret value{'s' * (len(rotated) > 1)} changed: {', '.join(rotated)}")
        missing = sorted(serving - {c.name for c in replicas})
        if missing:
            reasons.append(
                f"restart: container{'s' * (len(missing) > 1)} {', '.join(missing)} "
                f"{'are' if len(missing) > 1 else 'is'} gone"
            )
        if router is not None and not router.running:
            reasons.append(f"router: the router of target {node.target_name} is not running")
        renamed = [c.name for c in replicas if c.renamed]
        if renamed:
            reasons.append(
                f"rename: container{'s' * (len(renamed) > 1)} {', '.join(renamed)} "
                f"take{'s' * (len(renamed) == 1)} this version's names (a blue/green roll)"
            )
        if router is not None and router.renamed:
            reasons.append(f"router: {router.container} takes this version's name")
        tls = tls_change(route.tls if route else None, node.spec.tls, node.spec.auth.mode == "mtls", facts)
        if tls:
            reasons.append(tls)
    stale = [c for c in containers if c.name not in serving] if active is not None else []
    if active is not None and stale:
        reasons.append(f"clean up: {len(stale)} old container{'s' * (len(stale) != 1)}")
    if not reasons and record_outdated(ctx, node):
        reasons.append("record: the registry's deployment record is missing or outdated")
    return deployment_action(node, "update" if reasons else "no-op", reasons, diffs, change)


def _split(traffic: dict[str, int]) -> str:
    return ", ".join(f"{d} {w}%" for d, w in sorted(traffic.items())) or "no deployments"


def plan_endpoint(ctx: PlanContext, node: EndpointNode) -> Action:
    """An endpoint on a docker target: a listener of the router split across its deployments."""
    facts = _facts(ctx, node.target_name)
    router = facts.router
    fact = router.endpoint(node.name) if router else None
    traffic = dict(sorted(node.spec.traffic.items()))
    scheme = "https" if node.spec.tls else "http"
    url = f"{scheme}://{router.bind_address}:{fact.port}" if fact and router else None
    change = EndpointChange(tuple(traffic.items()), node.spec.path, url)
    if fact is None:
        return Action(
            node.id,
            "create",
            (f"route: endpoint {node.name} on target {node.target_name} ({_split(traffic)})",),
            tuple(FieldDiff(f"traffic.{d}", None, w) for d, w in traffic.items()),
            target=node.target_name,
            fingerprint=node.fingerprint,
            change=change,
        )
    if fact.fingerprint != node.fingerprint:
        before = dict(fact.traffic)
        diffs = [
            FieldDiff(f"traffic.{d}", before.get(d), traffic.get(d))
            for d in sorted(set(before) | set(traffic))
            if before.get(d) != traffic.get(d)
        ]
        if fact.path != node.spec.path:
            diffs.append(FieldDiff("path", fact.path, node.spec.path))
        why = (
            f"route: traffic {_split(before)} → {_split(traffic)}"
            if before != traffic
            else "route: endpoint definition changed"
        )
        return Action(
            node.id,
            "update",
            (why,),
            tuple(diffs),
            target=node.target_name,
            fingerprint=node.fingerprint,
            change=change,
        )
    if router is not None and not router.running:
        return Action(
            node.id,
            "update",
            (f"router: the router of target {node.target_name} is not running",),
            target=node.target_name,
            fingerprint=node.fingerprint,
            change=change,
        )
    if router is not None and router.renamed:
        return Action(
            node.id,
            "update",
            (f"router: {router.container} takes this version's name",),
            target=node.target_name,
            fingerprint=node.fingerprint,
            change=change,
        )
    tls = tls_change(fact.tls, node.spec.tls, needs_client_ca(node, ctx.graph.nodes), facts)
    if tls:
        return Action(node.id, "update", (tls,), target=node.target_name, fingerprint=node.fingerprint, change=change)
    return Action(node.id, "no-op", target=node.target_name, fingerprint=node.fingerprint, change=change)


def running(ctx: PlanContext, target_name: str) -> list[Running]:
    """Every deployment with containers or a route, and every endpoint listener, on the target."""
    facts = _facts(ctx, target_name)
    containers: dict[str, list[str]] = {}
    protected: dict[str, bool] = {}
    for c in facts.containers:
        containers.setdefault(c.deployment, []).append(c.name)
        protected[c.deployment] = protected.get(c.deployment, False) or c.prevent_destroy
    for r in facts.router.routes if facts.router else ():
        containers.setdefault(r.deployment, [])
        protected[r.deployment] = protected.get(r.deployment, False) or r.prevent_destroy
    out = [
        Running(
            "Deployment",
            Removal(name, containers=tuple(sorted(names))),
            FieldDiff("containers", sorted(names), None),
            protected[name],
        )
        for name, names in sorted(containers.items())
    ]
    for ep in facts.router.endpoints if facts.router else ():
        out.append(Running("Endpoint", Removal(ep.endpoint, endpoint=True), FieldDiff("port", ep.port, None)))
    return out
