"""make_plan: the graph (what git says) against LiveState (what runs) → a Plan. Pure: no I/O.

Rules, per resource:
- Model: registered when the registry's latest version has another digest ("register: model x 3 → 4").
- Image: built and pushed when no registered version has its fingerprint, or its tag is missing
  from the image registry; a prebuilt image is tracked by digest.
- Deployment (docker targets): rolled out when the container receiving traffic runs another
  fingerprint; repaired when the router, the container or the registry record is missing;
  deleted when it is gone from git (prune), unless it was deployed with lifecycle.preventDestroy.
Only fields modelctl sets are compared (the spec it recorded in a label), never what the engine
adds, so server-side defaults never show as drift.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, ModelNode
from ..targets.oci import parse_reference
from .errors import PlanError
from .model import Action, FieldDiff, Plan, Scope
from .refs import image_reference, registry_digest, secret_refs, short
from .scope import PUBLISH_TARGET_TYPES, Selection, select
from .state import ContainerFact, LiveState


def make_plan(graph: Graph, live: LiveState, *, scope: Scope = Scope(), git_commit: str | None = None,
              created_at: str | None = None) -> Plan:
    selection = select(graph, scope)
    actions: dict[str, Action] = {}
    for node in selection.nodes:
        if isinstance(node, ModelNode):
            actions[node.id] = _model(graph, node, live)
        elif isinstance(node, ImageNode):
            actions[node.id] = _image(graph, node, live, actions)
        elif isinstance(node, DeploymentNode):
            actions[node.id] = _deployment(graph, node, live, actions)
        elif isinstance(node, EndpointNode):
            actions[node.id] = _endpoint(node, live)
    if scope.prune:
        for action in _prune(graph, live, selection, scope):
            actions[action.resource] = action
    ordered = _with_dependencies(graph, list(actions.values()))
    return Plan(
        workspace=graph.workspace.name, root=graph.root, scope=scope, actions=tuple(ordered),
        stages=_stages(ordered), live_fingerprint=live.fingerprint(), not_applied=selection.not_applied,
        git_commit=git_commit, created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
    )


# --- models --------------------------------------------------------------------------------------

def _model(graph: Graph, node: ModelNode, live: LiveState) -> Action:
    digest = registry_digest(graph, node)
    fact = live.models.get(node.name)
    if digest is None:  # a remote artifact: registered by `modelctl models register`, never fetched here
        version = fact.version if fact else None
        return Action(node.id, "no-op", ("remote artifact: not registered by apply",), fingerprint=node.fingerprint,
                      detail=(("version", version), ("digest", fact.digest if fact else None)))
    if fact is None:
        return Action(node.id, "create", (f"register: model {node.name} version 1",),
                      (FieldDiff("artifact.digest", None, digest),), fingerprint=node.fingerprint,
                      detail=(("version", 1), ("digest", digest), ("framework", node.spec.framework)))
    if fact.digest != digest:
        new = fact.last_version + 1
        return Action(node.id, "update", (f"register: model {node.name} {fact.version} → {new}",),
                      (FieldDiff("artifact.digest", fact.digest, digest), FieldDiff("version", fact.version, new)),
                      fingerprint=node.fingerprint,
                      detail=(("version", new), ("digest", digest), ("framework", node.spec.framework)))
    return Action(node.id, "no-op", fingerprint=node.fingerprint, detail=(("version", fact.version), ("digest", digest)))


# --- images --------------------------------------------------------------------------------------

def _model_versions(node: ImageNode, live: LiveState, actions: dict[str, Action]) -> list[tuple[str, Any]]:
    """(model, version) the image will contain: predicted for models registered by this plan."""
    out: list[tuple[str, Any]] = []
    for use in node.models:
        if use.selector == "latest":
            planned = actions.get(use.model_id)
            version = planned.get("version") if planned else None
            if version is None and use.name in live.models:
                version = live.models[use.name].version
            out.append((use.name, version))
        elif use.selector.isdigit():
            out.append((use.name, int(use.selector)))
        else:
            out.append((use.name, use.selector))
    return out


def _check_pins(node: ImageNode, live: LiveState, actions: dict[str, Action]) -> None:
    for use in node.models:
        if not use.selector.isdigit():
            continue
        planned = actions.get(use.model_id)
        known = max(live.models[use.name].last_version if use.name in live.models else 0,
                    (planned.get("version") or 0) if planned else 0)
        if int(use.selector) > known:
            have = f"versions 1..{known}" if known else "no version"
            raise PlanError(f"{node.id}: model {use.name}@{use.selector} does not exist (the registry has {have} "
                            f"of {use.name}, counting what this plan registers); pin an existing version or use "
                            f"{use.name}@latest")


def _image(graph: Graph, node: ImageNode, live: LiveState, actions: dict[str, Action]) -> Action:
    if node.spec.prebuilt:
        return _prebuilt(node, live)
    _check_pins(node, live, actions)
    ref = image_reference(graph, node)
    fact = live.images.get(node.name)
    models = _model_versions(node, live, actions)
    pushed = live.manifests.get(ref) if parse_reference(ref).host else "local"  # no registry: kept on the engine
    detail: list[tuple[str, Any]] = [("ref", ref), ("models", [list(m) for m in models])]
    model_text = ", ".join(f"{m}@{v}" for m, v in models) or "no models"
    if fact is None or fact.fingerprint != node.fingerprint:
        version = fact.version + 1 if fact else 1
        detail.append(("version", version))
        diffs = [FieldDiff("fingerprint", fact.fingerprint if fact else None, node.fingerprint),
                 FieldDiff("ref", fact.image_ref if fact else None, ref)]
        if fact is None:
            return Action(node.id, "create", (f"build: image {node.name} ({model_text})",), tuple(diffs),
                          fingerprint=node.fingerprint, detail=tuple(detail))
        before = dict(fact.models)
        reasons = [f"rebuild: model {m} {before[m]} → {v}" for m, v in models if m in before and before[m] != v]
        reasons += [f"rebuild: model {m}@{v} added" for m, v in models if m not in before]
        reasons += [f"rebuild: model {m} removed" for m in before if m not in dict(models)]
        if [list(m) for m in fact.models] != [list(m) for m in models]:
            diffs.append(FieldDiff("models", [list(m) for m in fact.models], [list(m) for m in models]))
        if not reasons:
            reasons = [f"rebuild: image definition changed (environment, scoring code or spec; "
                       f"fingerprint {short(fact.fingerprint)} → {short(node.fingerprint)})"]
        return Action(node.id, "update", tuple(reasons), tuple(diffs), fingerprint=node.fingerprint,
                      detail=tuple(detail))
    detail.append(("version", fact.version))
    if pushed is None:
        return Action(node.id, "update", (f"push: {ref} is missing from the image registry",),
                      (FieldDiff("pushed", None, ref),), fingerprint=node.fingerprint, detail=tuple(detail))
    if fact.image_ref is None:
        return Action(node.id, "update", ("record: the registry has no image reference for this version",),
                      (FieldDiff("ref", None, ref),), fingerprint=node.fingerprint, detail=tuple(detail))
    return Action(node.id, "no-op", fingerprint=node.fingerprint, detail=tuple(detail))


def _prebuilt(node: ImageNode, live: LiveState) -> Action:
    ref = node.spec.prebuilt
    digest = live.manifests.get(ref)
    if digest is None:
        raise PlanError(f"{node.id}: prebuilt image {ref} was not found in its registry "
                        "(push it first, or fix spec.prebuilt)")
    name = ref.split("@", 1)[0]
    if "@" not in ref and ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    pinned = f"{name}@{digest}"
    fact = live.images.get(node.name)
    detail = (("ref", pinned), ("models", []), ("version", (fact.version if fact else 0) + 1))
    if fact is None:
        return Action(node.id, "create", (f"track: prebuilt image {pinned}",), (FieldDiff("ref", None, pinned),),
                      fingerprint=node.fingerprint, detail=detail)
    if fact.image_ref != pinned or fact.fingerprint != node.fingerprint:
        return Action(node.id, "update", (f"track: prebuilt image now {pinned} (was {fact.image_ref})",),
                      (FieldDiff("ref", fact.image_ref, pinned),), fingerprint=node.fingerprint, detail=detail)
    return Action(node.id, "no-op", fingerprint=node.fingerprint,
                  detail=(("ref", pinned), ("models", []), ("version", fact.version)))


# --- deployments ---------------------------------------------------------------------------------

def deployment_spec_json(node: DeploymentNode) -> dict:
    """What the container is started from; stored in a label and compared field by field."""
    return node.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _set_fields(node: DeploymentNode) -> dict:
    """What the user wrote (defaults left out): shown for a new deployment."""
    return node.spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: value}


def spec_diffs(before: dict | None, after: dict) -> list[FieldDiff]:
    old = _flatten(before, "spec") if before else {}
    new = _flatten(after, "spec") if after else {}
    return [FieldDiff(path, old.get(path), new.get(path)) for path in sorted(set(old) | set(new))
            if old.get(path) != new.get(path)]


def rotated_secrets(container: ContainerFact, live: LiveState, refs: tuple[str, ...]) -> list[str]:
    """Secrets whose value now differs from the one `container` started with (ids, never values).
    Nothing is compared for a container that recorded no digests, or a secret that was not read."""
    if container.secrets is None:
        return []
    started = dict(container.secrets)
    out = []
    for ref in refs:
        if ref not in live.secrets:
            continue
        now = live.secrets[ref]
        if now is None:
            out.append(f"{ref} (not found; apply generates a new key)" if "/" not in ref else f"{ref} (not found)")
        elif started.get(ref) != now:
            out.append(ref)
    return out


def _rollout(image_node: ImageNode, image_action: Action | None, old_ref: str, ref: str, old_spec_text: str,
             spec: dict) -> tuple[list[str], list[FieldDiff]]:
    """Why a running (or published) deployment differs from git: its image, its spec fields, or else
    something only the fingerprint sees (target settings)."""
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    if old_ref != ref:
        why = ""
        if image_action and image_action.is_change:
            models = [r.split(": ", 1)[-1] for r in image_action.reasons if r.startswith("rebuild: model")]
            why = f" ({'; '.join(models)})" if models else " (rebuilt)"
        reasons.append(f"roll out: image {image_node.name} changed{why}")
        diffs.append(FieldDiff("image", old_ref, ref))
    try:
        old_spec = json.loads(old_spec_text) if old_spec_text else None
    except ValueError:
        old_spec = None
    changed = spec_diffs(old_spec, spec)
    diffs += changed
    if changed:
        reasons.append("roll out: " + ", ".join(d.path for d in changed[:4]) + (" …" if len(changed) > 4 else "")
                       + " changed")
    if not reasons:
        reasons.append("roll out: deployment definition changed (target settings)")
    return reasons, diffs


def _published(graph: Graph, node: DeploymentNode, live: LiveState, actions: dict[str, Action]) -> Action:
    """An edge / fpga deployment: its bundle, published where the target says."""
    image_node = graph.get(node.image_id)
    image_action = actions.get(node.image_id)
    ref = image_action.get("ref") if image_action else image_reference(graph, image_node)
    fact = live.published_of(node.target_name, node.name)
    common = dict(target=node.target_name, fingerprint=node.fingerprint,
                  detail=(("image", image_node.name), ("ref", ref), ("url", fact.where if fact else None)))
    kind = "edge bundle" if node.target.type == "edge" else "accelerator config"
    if fact is None:
        return Action(node.id, "create", (f"publish: {kind} of {node.name} to target {node.target_name} "
                                          f"({node.target.publish})",),
                      tuple([FieldDiff("image", None, ref)] + spec_diffs(None, _set_fields(node))), **common)
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    if fact.fingerprint != node.fingerprint:
        reasons, diffs = _rollout(image_node, image_action, fact.image_ref, ref, fact.spec, deployment_spec_json(node))
        reasons = [r.replace("roll out:", "republish:", 1) for r in reasons]
    elif not fact.intact:
        reasons.append(f"republish: the published files at {fact.where} were changed by hand")
    record = live.record(node.target_name, node.name)
    if not reasons and (record is None or record.fingerprint != node.fingerprint):
        reasons.append("record: the registry's deployment record is missing or outdated")
    if not reasons:
        return Action(node.id, "no-op", **common)
    return Action(node.id, "update", tuple(reasons), tuple(diffs), **common)


def _deployment(graph: Graph, node: DeploymentNode, live: LiveState, actions: dict[str, Action]) -> Action:
    if node.target.type in PUBLISH_TARGET_TYPES:
        return _published(graph, node, live, actions)
    image_node = graph.get(node.image_id)
    image_action = actions.get(node.image_id)
    ref = image_action.get("ref") if image_action else image_reference(graph, image_node)
    spec = deployment_spec_json(node)
    router = live.routers.get(node.target_name)
    route = router.route(node.name) if router else None
    containers = live.containers_of(node.target_name, node.name)
    serving = {name for name, _ in route.servers} if route else set()
    replicas = [c for c in containers if c.name in serving]
    active = replicas[0] if replicas else None
    record = live.record(node.target_name, node.name)
    detail: list[tuple[str, Any]] = [("image", image_node.name), ("ref", ref),
                                     ("port", route.port if route else None),
                                     ("url", f"http://{router.bind_address}:{route.port}" if route and router else None)]
    common = dict(target=node.target_name, fingerprint=node.fingerprint, detail=tuple(detail))
    if not containers and route is None:
        return Action(node.id, "create", (f"deploy: {node.name} on target {node.target_name} from {ref}",),
                      tuple([FieldDiff("image", None, ref)] + spec_diffs(None, _set_fields(node))), **common)
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    if active is None:
        reasons.append("route: no healthy container receives the traffic")
    elif active.fingerprint != node.fingerprint:
        reasons, diffs = _rollout(image_node, image_action, active.image_ref, ref, active.spec, spec)
    else:
        for c in replicas:
            if not c.running:
                reasons.append(f"restart: container {c.name} is {c.state}")
        rotated = rotated_secrets(active, live, secret_refs(node.name, node.spec))
        if rotated:
            reasons.append(f"roll out: secret value{'s' * (len(rotated) > 1)} changed: {', '.join(rotated)}")
        missing = sorted(serving - {c.name for c in replicas})
        if missing:
            reasons.append(f"restart: container{'s' * (len(missing) > 1)} {', '.join(missing)} "
                           f"{'are' if len(missing) > 1 else 'is'} gone")
        if router is not None and not router.running:
            reasons.append(f"router: the router of target {node.target_name} is not running")
    stale = [c for c in containers if c.name not in serving] if active is not None else []
    if active is not None and stale:
        reasons.append(f"clean up: {len(stale)} old container{'s' * (len(stale) != 1)}")
    if not reasons and (record is None or record.fingerprint != node.fingerprint):
        reasons.append("record: the registry's deployment record is missing or outdated")
    if not reasons:
        return Action(node.id, "no-op", **common)
    return Action(node.id, "update", tuple(reasons), tuple(diffs), **common)


# --- endpoints (docker targets) ------------------------------------------------------------------

def _split(traffic) -> str:  # noqa: ANN001
    return ", ".join(f"{d} {w}%" for d, w in sorted(dict(traffic).items())) or "no deployments"


def _endpoint(node: EndpointNode, live: LiveState) -> Action:
    """An endpoint on a docker target: a listener of the router split across its deployments."""
    router = live.routers.get(node.target_name)
    fact = router.endpoint(node.name) if router else None
    traffic = dict(sorted(node.spec.traffic.items()))
    url = f"http://{router.bind_address}:{fact.port}" if fact and router else None
    common = dict(target=node.target_name, fingerprint=node.fingerprint,
                  detail=(("traffic", traffic), ("path", node.spec.path), ("url", url)))
    if fact is None:
        return Action(node.id, "create", (f"route: endpoint {node.name} on target {node.target_name} "
                                          f"({_split(traffic)})",),
                      tuple(FieldDiff(f"traffic.{d}", None, w) for d, w in traffic.items()), **common)
    if fact.fingerprint != node.fingerprint:
        before = dict(fact.traffic)
        diffs = [FieldDiff(f"traffic.{d}", before.get(d), traffic.get(d)) for d in sorted(set(before) | set(traffic))
                 if before.get(d) != traffic.get(d)]
        if fact.path != node.spec.path:
            diffs.append(FieldDiff("path", fact.path, node.spec.path))
        why = f"route: traffic {_split(before)} → {_split(traffic)}" if before != traffic \
            else "route: endpoint definition changed"
        return Action(node.id, "update", (why,), tuple(diffs), **common)
    if router is not None and not router.running:
        return Action(node.id, "update", (f"router: the router of target {node.target_name} is not running",),
                      **common)
    return Action(node.id, "no-op", **common)


# --- prune ---------------------------------------------------------------------------------------

def _prune(graph: Graph, live: LiveState, selection: Selection, scope: Scope) -> list[Action]:
    targets = selection.managed_targets
    desired = {(n.target_name, n.name) for n in graph.of_kind("Deployment")}
    found: dict[tuple[str, str], dict] = {}
    for c in live.containers:
        if c.target in targets:
            entry = found.setdefault((c.target, c.deployment), {"containers": [], "protected": False})
            entry["containers"].append(c.name)
            entry["protected"] |= c.prevent_destroy
    for t, router in live.routers.items():
        if t in targets:
            for r in router.routes:
                entry = found.setdefault((t, r.deployment), {"containers": [], "protected": False})
                entry["protected"] |= r.prevent_destroy
    for p in live.published:
        if p.target in targets:
            entry = found.setdefault((p.target, p.deployment), {"containers": [], "protected": False})
            entry["published"] = p.where
            entry["protected"] |= p.prevent_destroy
    for r in live.records:
        if r.target in targets:
            found.setdefault((r.target, r.name), {"containers": [], "protected": False})
    names_in_git = {n.name for n in graph.of_kind("Deployment")}
    actions = _prune_endpoints(graph, live, targets, selection, scope)
    for (target, name), entry in sorted(found.items()):
        if (target, name) in desired:
            continue
        rid = f"Deployment/{name}" if name not in names_in_git else f"Deployment/{name}@{target}"
        if scope.resources and rid not in selection.explicit:
            continue
        if entry["protected"]:
            raise PlanError(f"{rid} on target {target} is gone from git but was deployed with "
                            "lifecycle.preventDestroy: true; refusing to plan its deletion. Put it back, or "
                            "deploy it once with preventDestroy: false before removing it, or plan with --no-prune.")
        reason = "prune: removed from git" if name not in names_in_git else f"prune: moved off target {target}"
        if "published" in entry:
            gone = FieldDiff("published", entry["published"], None)
            detail = (("published", entry["published"]), ("name", name))
        else:
            gone = FieldDiff("containers", sorted(entry["containers"]), None)
            detail = (("containers", sorted(entry["containers"])), ("name", name))
        actions.append(Action(rid, "delete", (reason,), (gone,), target=target, detail=detail))
    return actions


def _prune_endpoints(graph: Graph, live: LiveState, targets: set[str], selection: Selection,
                     scope: Scope) -> list[Action]:
    desired = {(n.target_name, n.name) for n in graph.of_kind("Endpoint")}
    actions = []
    for t, router in sorted(live.routers.items()):
        if t not in targets:
            continue
        for ep in router.endpoints:
            rid = f"Endpoint/{ep.endpoint}"
            if (t, ep.endpoint) in desired or (scope.resources and rid not in selection.explicit):
                continue
            actions.append(Action(rid, "delete", ("prune: removed from git",),
                                  (FieldDiff("port", ep.port, None),), target=t,
                                  detail=(("name", ep.endpoint), ("endpoint", True))))
    return actions


# --- order ---------------------------------------------------------------------------------------

def _with_dependencies(graph: Graph, actions: list[Action]) -> list[Action]:
    """Each change depends on the changes of the resources it is built from (transitively)."""
    changed = {a.resource for a in actions if a.is_change}
    out = []
    for a in actions:
        deps: list[str] = []
        if a.is_change and a.resource in graph.nodes:
            todo, seen = list(graph.get(a.resource).parents), set()
            while todo:
                p = todo.pop()
                if p in seen or p not in graph.nodes:
                    continue
                seen.add(p)
                if p in changed:
                    deps.append(p)
                todo.extend(graph.get(p).parents)
        out.append(Action(a.resource, a.action, a.reasons, a.diffs, tuple(sorted(deps)), a.target, a.fingerprint,
                          a.detail))
    return out


def _stages(actions: list[Action]) -> tuple[tuple[str, ...], ...]:
    """Level of each change = 1 + the deepest level it depends on; deletes run last, together."""
    level: dict[str, int] = {}
    for a in actions:  # actions are in dependency order
        if a.is_change and a.action != "delete":
            level[a.resource] = 1 + max((level[d] for d in a.depends_on if d in level), default=-1)
    stages: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for rid, lv in level.items():
        stages[lv].append(rid)
    deletes = [a.resource for a in actions if a.action == "delete"]
    if deletes:
        stages.append(deletes)
    return tuple(tuple(s) for s in stages if s)
