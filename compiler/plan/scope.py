"""Which resources a plan covers: `--targets` (deployment targets by name or type) and
`--target KIND/NAME` (a resource and what it needs, as Terraform's -target)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import did_you_mean
from ..errors import PlanError
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, ModelNode, Node
from ..spec.workspace import Target
from .model import NotApplied, Scope
from .refs import image_reference
from .state import Wanted
from .target import FactsRequest, TargetType, TargetTypes

ACTION_KINDS = ("Model", "Image", "Deployment", "Endpoint")


@dataclass(frozen=True)
class Selection:
    nodes: tuple[Node, ...]  # Models, Images, applied Deployments, Endpoints: in dependency order
    not_applied: tuple[NotApplied, ...]
    managed_targets: tuple[tuple[str, Target], ...]  # applied targets in scope: their live objects are read and pruned
    explicit: frozenset[str]  # --target ids (deletes need to be named)
    needs_target_facts: bool = True  # False: only models/images in scope, no target is asked

    @property
    def managed_names(self) -> set[str]:
        return {name for name, _ in self.managed_targets}


def _target_matches(scope: Scope, name: str, type_: str) -> bool:
    return not scope.targets or name in scope.targets or type_ in scope.targets


def _ancestors(graph: Graph, node_id: str) -> set[str]:
    seen: set[str] = set()
    todo = [node_id]
    while todo:
        current = todo.pop()
        if current in seen or current not in graph.nodes:
            continue
        seen.add(current)
        todo.extend(graph.get(current).parents)
    return seen


def select(graph: Graph, scope: Scope, types: TargetTypes) -> Selection:
    targets = graph.workspace.spec.targets
    known = set(targets) | {t.type for t in targets.values()}
    for wanted in scope.targets:
        if wanted not in known:
            hint = did_you_mean(wanted, sorted(known)) or "targets: " + ", ".join(sorted(targets))
            raise PlanError(f"unknown target '{wanted}' in --targets; {hint}")
    for rid in scope.resources:
        kind, _, name = rid.partition("/")
        if kind not in ("Model", "Image", "Deployment", "Endpoint") or not name:
            raise PlanError(f"--target takes KIND/NAME (Model/x, Image/y, Deployment/z), not '{rid}'")

    chosen_deployments = [
        n for n in graph.of_kind("Deployment") if _target_matches(scope, n.target_name, n.target.type)
    ]
    needed: set[str] | None = None  # with --targets: only what the chosen deployments need
    if scope.targets:
        needed = set()
        for dep in chosen_deployments:
            needed |= _ancestors(graph, dep.id)

    explicit: set[str] = set()
    wanted_ids: set[str] | None = None  # with --target: the named resources and what they are built from
    if scope.resources:
        wanted_ids = set()
        for rid in scope.resources:
            if rid in graph.nodes:
                wanted_ids |= _ancestors(graph, rid)
            explicit.add(rid)
        unknown = [r for r in scope.resources if r not in graph.nodes and not r.startswith("Deployment/")]
        if unknown:
            names = [n.id for n in graph if n.kind in ("Model", "Image", "Deployment", "Endpoint")]
            hint = did_you_mean(unknown[0], names) or "no such resource in the repo"
            raise PlanError(f"--target {unknown[0]}: {hint}")

    def in_scope(n: Node) -> bool:
        if needed is not None:
            on_target = isinstance(n, (DeploymentNode, EndpointNode)) and _target_matches(
                scope, n.target_name, n.target.type
            )
            if not (on_target or n.id in needed):
                return False
        return wanted_ids is None or n.id in wanted_ids

    nodes: list[Node] = []
    not_applied: list[NotApplied] = []
    for node in graph:
        if not in_scope(node):
            continue
        if isinstance(node, (ModelNode, ImageNode)):
            nodes.append(node)
        elif isinstance(node, DeploymentNode):
            if _type(types, node.target.type).applies:
                nodes.append(node)
            else:
                not_applied.append(
                    NotApplied(
                        node.id,
                        node.target_name,
                        f"{node.target.type} target "
                        f"'{node.target_name}': not applied by this version (render only: "
                        "modelctl render)",
                    )
                )
        elif isinstance(node, EndpointNode):
            if _type(types, node.target.type).routes_endpoints:
                nodes.append(node)
            elif not scope.resources or node.id in explicit:
                not_applied.append(
                    NotApplied(
                        node.id,
                        node.target_name,
                        f"{node.target.type} target "
                        f"'{node.target_name}': endpoints are not applied by this version "
                        "(render only: modelctl render)",
                    )
                )
    managed = tuple(
        (name, t)
        for name, t in sorted(targets.items())
        if _type(types, t.type).applies and _target_matches(scope, name, t.type)
    )
    return Selection(
        tuple(nodes), tuple(not_applied), managed, frozenset(explicit), _needs_target_facts(nodes, explicit, managed)
    )


def _type(types: TargetTypes, name: str) -> TargetType:
    found = types.get(name)
    if found is None:  # the Workspace schema only admits known types; a new one without an entry is a bug
        raise PlanError(f"target type {name!r} has no entry in the target-type registry")
    return found


def _needs_target_facts(nodes: list[Node], explicit: set[str], managed: tuple[tuple[str, Target], ...]) -> bool:
    """Target facts matter when a deployment or endpoint is in scope or may be pruned; a plan of
    only models and images (--target Model/x) never talks to a target."""
    if any(isinstance(n, (DeploymentNode, EndpointNode)) for n in nodes):
        return True
    if explicit:  # --target: only when a deployment or endpoint (maybe one to prune) is named
        return any(rid.startswith(("Deployment/", "Endpoint/")) for rid in explicit)
    return bool(managed)


def wanted(graph: Graph, selection: Selection) -> Wanted:
    """What the registry and the image registry are asked for."""
    images = [n for n in selection.nodes if isinstance(n, ImageNode)]
    return Wanted(
        graph.workspace.name,
        graph.root,
        models=tuple(n.name for n in selection.nodes if n.kind == "Model"),
        images=tuple(n.name for n in images),
        refs=tuple(image_reference(graph, n) for n in images),
        image_fingerprints=tuple((n.name, n.fingerprint) for n in images),
        managed_targets=tuple(name for name, _ in selection.managed_targets),
    )


def facts_requests(graph: Graph, selection: Selection, types: TargetTypes) -> dict[str, FactsRequest]:
    """What each target type is asked to read, by type name (only types with managed targets in scope)."""
    if not selection.needs_target_facts:
        return {}
    out: dict[str, FactsRequest] = {}
    deployments = [n for n in selection.nodes if isinstance(n, DeploymentNode)]
    endpoints = [n for n in selection.nodes if isinstance(n, EndpointNode)]
    for type_name in sorted({t.type for _, t in selection.managed_targets}):
        targets = tuple((name, t) for name, t in selection.managed_targets if t.type == type_name)
        names = {name for name, _ in targets}
        out[type_name] = FactsRequest(
            graph.workspace.name,
            Path(graph.root),
            targets,
            tuple(d for d in deployments if d.target_name in names),
            tuple(e for e in endpoints if e.target_name in names),
        )
    return out
