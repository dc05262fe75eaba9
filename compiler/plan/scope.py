"""Which resources a plan covers: `--targets` (deployment targets by name or type) and
`--target KIND/NAME` (a resource and what it needs, as Terraform's -target)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..diagnostics import did_you_mean
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, ModelNode, Node
from ..spec.workspace import DockerTarget
from .errors import PlanError
from .model import NotApplied, Scope
from .refs import image_reference, secret_refs
from .state import Wanted

APPLIED_TARGET_TYPES = ("docker", "edge", "fpga")
PUBLISH_TARGET_TYPES = ("edge", "fpga")
ACTION_KINDS = ("Model", "Image", "Deployment", "Endpoint")


@dataclass(frozen=True)
class Selection:
    nodes: tuple[Node, ...]                         # Models, Images, docker Deployments: in dependency order
    not_applied: tuple[NotApplied, ...]
    docker_targets: tuple[tuple[str, DockerTarget], ...]  # targets whose live objects are read (and pruned)
    explicit: frozenset[str]                        # --target ids (deletes need to be named)
    publish_targets: tuple[tuple[str, Any], ...] = ()  # edge / fpga targets whose bundles are read (and pruned)

    @property
    def managed_targets(self) -> set[str]:
        return {name for name, _ in self.docker_targets} | {name for name, _ in self.publish_targets}


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


def select(graph: Graph, scope: Scope) -> Selection:
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

    chosen_deployments = [n for n in graph.of_kind("Deployment")
                          if _target_matches(scope, n.target_name, n.target.type)]
    if scope.targets:  # only what the chosen deployments need
        needed: set[str] = set()
        for dep in chosen_deployments:
            needed |= _ancestors(graph, dep.id)
        in_filter = lambda n: (n.kind == "Deployment" and n in chosen_deployments or n.id in needed  # noqa: E731
                               or n.kind == "Endpoint" and _target_matches(scope, n.target_name, n.target.type))
    else:
        in_filter = lambda n: True  # noqa: E731

    explicit: set[str] = set()
    if scope.resources:
        wanted_ids: set[str] = set()
        for rid in scope.resources:
            if rid in graph.nodes:
                wanted_ids |= _ancestors(graph, rid)
            explicit.add(rid)
        unknown = [r for r in scope.resources if r not in graph.nodes and not r.startswith("Deployment/")]
        if unknown:
            names = [n.id for n in graph if n.kind in ("Model", "Image", "Deployment", "Endpoint")]
            hint = did_you_mean(unknown[0], names) or "no such resource in the repo"
            raise PlanError(f"--target {unknown[0]}: {hint}")
        in_scope = lambda n: in_filter(n) and n.id in wanted_ids  # noqa: E731
    else:
        in_scope = in_filter

    nodes: list[Node] = []
    not_applied: list[NotApplied] = []
    for node in graph:
        if not in_scope(node):
            continue
        if isinstance(node, (ModelNode, ImageNode)):
            nodes.append(node)
        elif isinstance(node, DeploymentNode):
            if node.target.type in APPLIED_TARGET_TYPES:
                nodes.append(node)
            else:
                not_applied.append(NotApplied(node.id, node.target_name, f"{node.target.type} target "
                                              f"'{node.target_name}': not applied by this version (render only: "
                                              "modelctl render)"))
        elif isinstance(node, EndpointNode):
            if node.target.type == "docker":
                nodes.append(node)
            elif not scope.resources or node.id in explicit:
                not_applied.append(NotApplied(node.id, node.target_name, f"{node.target.type} target "
                                              f"'{node.target_name}': endpoints are not applied by this version "
                                              "(render only: modelctl render)"))
    docker = tuple((name, t) for name, t in sorted(targets.items())
                   if isinstance(t, DockerTarget) and _target_matches(scope, name, t.type))
    publish = tuple((name, t) for name, t in sorted(targets.items())
                    if t.type in PUBLISH_TARGET_TYPES and _target_matches(scope, name, t.type))
    return Selection(tuple(nodes), tuple(not_applied), docker, frozenset(explicit), publish)


def wanted(graph: Graph, selection: Selection) -> Wanted:
    models = tuple(n.name for n in selection.nodes if n.kind == "Model")
    images = tuple(n.name for n in selection.nodes if n.kind == "Image")
    refs = tuple(image_reference(graph, n) for n in selection.nodes if n.kind == "Image")
    secrets = tuple(sorted({ref for n in selection.nodes if isinstance(n, DeploymentNode) and n.target.type == "docker"
                            for ref in secret_refs(n.name, n.spec)}))
    fingerprints = tuple((n.name, n.fingerprint) for n in selection.nodes if n.kind == "Image")
    return Wanted(graph.workspace.name, graph.root, models, images, refs, selection.docker_targets, secrets,
                  fingerprints, selection.publish_targets)
