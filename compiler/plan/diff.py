"""make_plan: the graph (what git says) against LiveState (what runs) → a Plan. Pure: no I/O.

Rules, per resource:
- Model: registered when the registry's latest version has another digest ("register: model x 3 → 4").
- Image: built and pushed when no registered version has its fingerprint, or its tag is missing
  from the image registry; a prebuilt image is tracked by digest.
- Deployment and Endpoint: planned by their target's type (`plan.target.TargetType`) from its facts.
- Prune: whatever a managed target runs (or the registry recorded) that git no longer wants is
  deleted, unless it was deployed with lifecycle.preventDestroy.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from ..errors import PlanError
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, ModelNode
from ..ociref import parse_reference
from . import rollback
from .model import Action, FieldDiff, ImageChange, ModelChange, ModelVersion, Plan, Removal, Scope, Stage
from .refs import image_inputs, image_reference, registry_digest, short
from .scope import Selection, select
from .state import LiveState
from .target import PlanContext, Running, TargetTypes


def make_plan(
    graph: Graph,
    live: LiveState,
    *,
    types: TargetTypes,
    scope: Scope = Scope(),
    selection: Selection | None = None,
    git_commit: str | None = None,
    git_branch: str | None = None,
    git_dirty: bool | None = None,
    created_at: str | None = None,
    warnings: tuple[str, ...] = (),
) -> Plan:
    """selection: the scope's selection when the caller made it already (one select() per command)."""
    selection = selection or select(graph, scope, types)
    actions: dict[str, Action] = {}
    ctx = PlanContext(graph, live, actions, selection.explicit)
    for node in selection.nodes:
        if isinstance(node, ModelNode):
            actions[node.id] = _model(graph, node, live)
        elif isinstance(node, ImageNode):
            actions[node.id] = _image(graph, node, live, actions)
        elif isinstance(node, DeploymentNode):
            target_type = types[node.target.type]
            mark = target_type.rollback_mark(ctx.facts(node.target_name), node.name)
            actions[node.id] = rollback.noted(target_type.plan_deployment(ctx, node), mark)
        elif isinstance(node, EndpointNode):
            actions[node.id] = types[node.target.type].plan_endpoint(ctx, node)
    if scope.prune:
        for action in _prune(ctx, types, selection, scope):
            actions[action.resource] = action
    ordered = _with_dependencies(graph, list(actions.values()))
    return Plan(
        workspace=graph.workspace.name,
        root=graph.root,
        scope=scope,
        actions=tuple(ordered),
        stages=_stages(ordered),
        live_fingerprint=live.fingerprint(),
        not_applied=selection.not_applied,
        git_commit=git_commit,
        created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        warnings=warnings,
        git_branch=git_branch,
        git_dirty=git_dirty,
    )


# --- models --------------------------------------------------------------------------------------


def _model(graph: Graph, node: ModelNode, live: LiveState) -> Action:
    digest = registry_digest(graph, node)
    fact = live.models.get(node.name)
    if digest is None:  # a remote artifact: registered by `modelctl models register`, never fetched here
        version = fact.version if fact else None
        return Action(
            node.id,
            "no-op",
            ("remote artifact: not registered by apply",),
            fingerprint=node.fingerprint,
            change=ModelChange(version, fact.digest if fact else None),
        )
    if fact is None:
        return Action(
            node.id,
            "create",
            (f"register: model {node.name} version 1",),
            (FieldDiff("artifact.digest", None, digest),),
            fingerprint=node.fingerprint,
            change=ModelChange(1, digest, node.spec.framework),
        )
    if fact.digest != digest:
        new = fact.last_version + 1
        return Action(
            node.id,
            "update",
            (f"register: model {node.name} {fact.version} → {new}",),
            (FieldDiff("artifact.digest", fact.digest, digest), FieldDiff("version", fact.version, new)),
            fingerprint=node.fingerprint,
            change=ModelChange(new, digest, node.spec.framework),
        )
    if fact.framework is not None and fact.framework != node.spec.framework:
        # same bytes, loaded another way: a version records its framework, so this is a new version
        new = fact.last_version + 1
        return Action(
            node.id,
            "update",
            (
                f"register: model {node.name} {fact.version} → {new} (framework {fact.framework} → {node.spec.framework})",
            ),
            (FieldDiff("framework", fact.framework, node.spec.framework), FieldDiff("version", fact.version, new)),
            fingerprint=node.fingerprint,
            change=ModelChange(new, digest, node.spec.framework),
        )
    return Action(node.id, "no-op", fingerprint=node.fingerprint, change=ModelChange(fact.version, digest))


# --- images --------------------------------------------------------------------------------------


def _planned_version(actions: dict[str, Action], model_id: str) -> int | None:
    planned = actions.get(model_id)
    return planned.change.version if planned is not None and isinstance(planned.change, ModelChange) else None


def _model_versions(node: ImageNode, live: LiveState, actions: dict[str, Action]) -> list[tuple[str, ModelVersion]]:
    """(model, version) the image will contain: predicted for models registered by this plan."""
    out: list[tuple[str, ModelVersion]] = []
    for use in node.models:
        if use.selector == "latest":
            version: ModelVersion = _planned_version(actions, use.model_id)
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
        known = max(
            live.models[use.name].last_version if use.name in live.models else 0,
            _planned_version(actions, use.model_id) or 0,
        )
        if int(use.selector) > known:
            have = f"versions 1..{known}" if known else "no version"
            raise PlanError(
                f"{node.id}: model {use.name}@{use.selector} does not exist (the registry has {have} "
                f"of {use.name}, counting what this plan registers); pin an existing version or use "
                f"{use.name}@latest"
            )


def _image(graph: Graph, node: ImageNode, live: LiveState, actions: dict[str, Action]) -> Action:
    if node.spec.prebuilt:
        return _prebuilt(node, node.spec.prebuilt, live)
    _check_pins(node, live, actions)
    ref = image_reference(graph, node)
    fact = live.images.get(node.name)
    models = _model_versions(node, live, actions)
    pushed = live.manifests.get(ref) if parse_reference(ref).host else "local"  # no registry: kept on the engine
    model_text = ", ".join(f"{m}@{v}" for m, v in models) or "no models"
    if fact is None or fact.fingerprint != node.fingerprint:
        change = ImageChange(ref, tuple(models), fact.version + 1 if fact else 1)
        diffs = [
            FieldDiff("fingerprint", fact.fingerprint if fact else None, node.fingerprint),
            FieldDiff("ref", fact.image_ref if fact else None, ref),
        ]
        if fact is None:
            return Action(
                node.id,
                "create",
                (f"build: image {node.name} ({model_text})",),
                tuple(diffs),
                fingerprint=node.fingerprint,
                change=change,
            )
        before = dict(fact.models)
        reasons = [f"rebuild: model {m} {before[m]} → {v}" for m, v in models if m in before and before[m] != v]
        reasons += [f"rebuild: model {m}@{v} added" for m, v in models if m not in before]
        reasons += [f"rebuild: model {m} removed" for m in before if m not in dict(models)]
        if [list(m) for m in fact.models] != [list(m) for m in models]:
            diffs.append(FieldDiff("models", [list(m) for m in fact.models], [list(m) for m in models]))
        reasons += _input_reasons(graph, node, fact.inputs, bool(reasons))
        if not reasons:
            reasons = [
                f"rebuild: image definition changed (environment, scoring code or spec; "
                f"fingerprint {short(fact.fingerprint)} → {short(node.fingerprint)})"
            ]
        return Action(node.id, "update", tuple(reasons), tuple(diffs), fingerprint=node.fingerprint, change=change)
    change = ImageChange(ref, fact.models, fact.version)  # built before: the registry's record of what it holds
    if pushed is None:
        return Action(
            node.id,
            "update",
            (f"push: {ref} is missing from the image registry",),
            (FieldDiff("pushed", None, ref),),
            fingerprint=node.fingerprint,
            change=change,
        )
    if fact.image_ref is None:
        return Action(
            node.id,
            "update",
            ("record: the registry has no image reference for this version",),
            (FieldDiff("ref", None, ref),),
            fingerprint=node.fingerprint,
            change=change,
        )
    return Action(node.id, "no-op", fingerprint=node.fingerprint, change=change)


def _input_reasons(
    graph: Graph, node: ImageNode, recorded: tuple[tuple[str, str], ...] | None, models_changed: bool
) -> list[str]:
    """`rebuild: <input> <before> → <after>` for each input the registry recorded that changed."""
    if recorded is None:  # built before inputs were recorded: only the fingerprint can tell
        return []
    before, now = dict(recorded), image_inputs(graph, node)
    out = []
    for key, value in now.items():
        old = before.get(key)
        if old == value:
            continue
        if key.startswith("model ") and old is None and models_changed:
            continue  # a model added: said already
        out.append(f"rebuild: {key} {old or 'none'} → {value}")
    out += [f"rebuild: {key} {before[key]} → none" for key in before if key not in now and not key.startswith("model ")]
    return out


def _prebuilt(node: ImageNode, ref: str, live: LiveState) -> Action:
    """ref: the image's spec.prebuilt."""
    digest = live.manifests.get(ref)
    if digest is None:
        raise PlanError(
            f"{node.id}: prebuilt image {ref} was not found in its registry (push it first, or fix spec.prebuilt)"
        )
    name = ref.split("@", 1)[0]
    if "@" not in ref and ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    pinned = f"{name}@{digest}"
    fact = live.images.get(node.name)
    change = ImageChange(pinned, (), (fact.version if fact else 0) + 1)
    if fact is None:
        return Action(
            node.id,
            "create",
            (f"track: prebuilt image {pinned}",),
            (FieldDiff("ref", None, pinned),),
            fingerprint=node.fingerprint,
            change=change,
        )
    if fact.image_ref != pinned or fact.fingerprint != node.fingerprint:
        return Action(
            node.id,
            "update",
            (f"track: prebuilt image now {pinned} (was {fact.image_ref})",),
            (FieldDiff("ref", fact.image_ref, pinned),),
            fingerprint=node.fingerprint,
            change=change,
        )
    return Action(node.id, "no-op", fingerprint=node.fingerprint, change=ImageChange(pinned, (), fact.version))


# --- prune ---------------------------------------------------------------------------------------


def _found(ctx: PlanContext, types: TargetTypes, selection: Selection) -> dict[tuple[str, str, str], Running]:
    """(kind, target, name) → what the managed targets in scope run (or the registry recorded there)."""
    found: dict[tuple[str, str, str], Running] = {}
    for target_name, target in selection.managed_targets:
        for item in types[target.type].running(ctx, target_name):
            found.setdefault((item.kind, target_name, item.removal.name), item)
    for r in ctx.live.records:
        if r.target in selection.managed_names:  # recorded, but gone from the target: the record goes too
            found.setdefault(
                ("Deployment", r.target, r.name),
                Running("Deployment", Removal(r.name), FieldDiff("containers", [], None)),
            )
    return found


def _prune(ctx: PlanContext, types: TargetTypes, selection: Selection, scope: Scope) -> list[Action]:
    """Deletes of what managed targets run (or the registry recorded) and git no longer wants there."""
    graph = ctx.graph
    desired = {("Deployment", n.target_name, n.name) for n in graph.of_kind("Deployment")} | {
        ("Endpoint", n.target_name, n.name) for n in graph.of_kind("Endpoint")
    }
    found = _found(ctx, types, selection)
    names_in_git = {n.name for n in graph.of_kind("Deployment")}
    deployments: list[Action] = []
    endpoints: list[Action] = []
    for (kind, target_name, name), item in sorted(found.items()):
        if (kind, target_name, name) in desired:
            continue
        moved = kind == "Deployment" and name in names_in_git
        rid = f"{kind}/{name}@{target_name}" if moved else f"{kind}/{name}"
        if scope.resources and rid not in selection.explicit:
            continue
        if item.protected:
            raise PlanError(
                f"{rid} on target {target_name} is gone from git but was deployed with "
                "lifecycle.preventDestroy: true; refusing to plan its deletion. Put it back, or "
                "deploy it once with preventDestroy: false before removing it, or plan with --no-prune."
            )
        reason = f"prune: moved off target {target_name}" if moved else "prune: removed from git"
        (endpoints if kind == "Endpoint" else deployments).append(
            Action(rid, "delete", (reason,), (item.gone,), target=target_name, change=item.removal)
        )
    return endpoints + deployments


# --- destroy -------------------------------------------------------------------------------------


def make_destroy_plan(
    graph: Graph,
    live: LiveState,
    *,
    types: TargetTypes,
    selection: Selection,
    scope: Scope = Scope(),
    git_commit: str | None = None,
    git_branch: str | None = None,
    git_dirty: bool | None = None,
    created_at: str | None = None,
) -> Plan:
    """`modelctl destroy`: a delete of every deployment and endpoint the managed targets in scope run
    for this workspace (or the registry recorded there), whatever git says. Refuses, naming every one,
    when any was deployed with lifecycle.preventDestroy. Pure, like make_plan."""
    ctx = PlanContext(graph, live, {}, selection.explicit)
    found = _found(ctx, types, selection)
    protected = sorted(
        f"{kind}/{name} on target {target}" for (kind, target, name), item in found.items() if item.protected
    )
    if protected:
        raise PlanError(
            f"refusing to destroy: {'; '.join(protected)} "
            f"{'was' if len(protected) == 1 else 'were'} deployed with lifecycle.preventDestroy: true. "
            "Set preventDestroy: false and apply first, or leave those targets out (--target NAME)."
        )
    on_targets: dict[tuple[str, str], int] = {}
    for kind, _target, name in found:
        on_targets[(kind, name)] = on_targets.get((kind, name), 0) + 1
    endpoints: list[Action] = []
    deployments: list[Action] = []
    for (kind, target_name, name), item in sorted(found.items()):
        rid = f"{kind}/{name}@{target_name}" if on_targets[(kind, name)] > 1 else f"{kind}/{name}"
        (endpoints if kind == "Endpoint" else deployments).append(
            Action(
                rid,
                "delete",
                (f"destroy: target {target_name}",),
                (item.gone,),
                target=target_name,
                change=item.removal,
            )
        )
    actions = endpoints + deployments  # endpoints first: nothing routes to a deployment as it goes
    return Plan(
        workspace=graph.workspace.name,
        root=graph.root,
        scope=replace(scope, prune=True),
        actions=tuple(actions),
        stages=tuple(Stage(tuple(a.resource for a in part), deletes=True) for part in (endpoints, deployments) if part),
        live_fingerprint=live.fingerprint(),
        git_commit=git_commit,
        created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        git_branch=git_branch,
        git_dirty=git_dirty,
    )


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
        out.append(replace(a, depends_on=tuple(sorted(deps))))
    return out


def _stages(actions: list[Action]) -> tuple[Stage, ...]:
    """Level of each change = 1 + the deepest level it depends on; deletes run last, together."""
    level: dict[str, int] = {}
    for a in actions:  # actions are in dependency order
        if a.is_change and a.action != "delete":
            level[a.resource] = 1 + max((level[d] for d in a.depends_on if d in level), default=-1)
    stages: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for rid, lv in level.items():
        stages[lv].append(rid)
    out = [Stage(tuple(s)) for s in stages if s]
    deletes = tuple(a.resource for a in actions if a.action == "delete")
    if deletes:
        out.append(Stage(deletes, deletes=True))
    return tuple(out)
