"""render_graph: every target's files for a graph (or a subset), checked, then published atomically."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..diagnostics import Diagnostic, DiagnosticError, did_you_mean
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, Node
from . import docker
from .publish import GENERATOR, MANIFEST, check_out_dir, publish
from .serialize import json_text_fast
from .templating import Templates
from .tree import OutputTree

MANIFEST_VERSION = 1


class TargetRenderer(Protocol):
    """A target type's render hooks (`compiler.plan.target.TargetType` implements them)."""

    def render_deployment(
        self, graph: Graph, node: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str]
    ) -> int: ...

    def render_endpoint(self, graph: Graph, node: EndpointNode, tree: OutputTree) -> int: ...


TargetRenderers = Mapping[str, TargetRenderer]


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to out
    sha256: str
    node: str


@dataclass
class RenderResult:
    out: Path
    files: list[RenderedFile] = field(default_factory=list)  # sorted by path; manifest.json not included
    nodes: dict[str, str] = field(default_factory=dict)  # rendered node id -> fingerprint
    kubernetes_objects: int = 0

    def by_node(self, node_id: str) -> list[RenderedFile]:
        return [f for f in self.files if f.node == node_id]


def render_graph(
    graph: Graph,
    out: Path,
    *,
    types: TargetRenderers,
    only: set[str] | None = None,
    model_versions: Mapping[str, str] | None = None,
    templates: Templates | None = None,
    model_files: Mapping[str, tuple[Path, str]] | None = None,
) -> RenderResult:
    """Render `graph` into `out`; on any problem raise DiagnosticError and leave `out` as it was.

    types: the target types, by name: each renders its own deployments' and endpoints' artifacts
        (`compiler.targets.TARGET_TYPES`).
    only: node ids ("Deployment/iris-blue") to render, with everything they depend on.
    model_versions: model node id -> registry version; offline, "sha256-<12 hex>" of the artifact.
    model_files: model node id -> (local files, digest) to build from instead of the repo's artifact:
        apply passes the registry's copy of a pinned version (`iris@3`).
    """
    out = Path(out)
    check_out_dir(out, Path(graph.root))
    selected = select(graph, only)
    tree, objects = build_tree(graph, selected, model_versions, templates or Templates(), model_files, types=types)
    files = sorted((RenderedFile(f.path, f.sha256(), f.node) for f in tree.files.values()), key=lambda f: f.path)
    nodes = {node_id: graph.get(node_id).fingerprint for node_id in sorted(selected)}
    manifest = {
        "generator": GENERATOR,
        "schemaVersion": MANIFEST_VERSION,
        "nodes": nodes,
        "files": {f.path: {"node": f.node, "sha256": f.sha256} for f in files},
    }
    tree.add(MANIFEST, "", json_text_fast(manifest))
    publish(tree, out)
    return RenderResult(out.resolve(), files, nodes, objects)


def build_tree(
    graph: Graph,
    selected: Iterable[str],
    model_versions: Mapping[str, str] | None,
    templates: Templates,
    model_files: Mapping[str, tuple[Path, str]] | None = None,
    *,
    types: TargetRenderers,
) -> tuple[OutputTree, int]:
    """All rendered files in memory; every node's problems are collected before giving up."""
    tree = OutputTree()
    objects = 0
    problems: list[Diagnostic] = []
    wanted = set(selected)
    for node in graph:
        if node.id not in wanted:
            continue
        try:
            objects += _render_node(graph, node, tree, templates, model_versions or {}, model_files, types)
        except DiagnosticError as err:
            problems.extend(err.diagnostics)
    if problems:
        raise DiagnosticError(problems)
    return tree, objects


def _render_node(
    graph: Graph,
    node: Node,
    tree: OutputTree,
    templates: Templates,
    model_versions: Mapping[str, str],
    model_files: Mapping[str, tuple[Path, str]] | None,
    types: TargetRenderers,
) -> int:
    if isinstance(node, ImageNode):
        docker.render_image(graph, node, tree, templates, model_versions, model_files)
    elif isinstance(node, DeploymentNode):
        return types[node.target.type].render_deployment(graph, node, tree, model_versions)
    elif isinstance(node, EndpointNode):
        return types[node.target.type].render_endpoint(graph, node, tree)
    return 0


def select(graph: Graph, only: set[str] | None) -> list[str]:
    """Node ids to render: all, or the named ones plus their ancestors, in dependency order."""
    if not only:
        return list(graph.nodes)
    unknown = sorted(i for i in only if i not in graph.nodes)
    if unknown:
        known = [i for i in graph.nodes if not i.startswith("Environment/curated/")]
        raise DiagnosticError(
            [
                Diagnostic(
                    f"--only {i}: no such resource in the repo",
                    code="unknown-reference",
                    expected="Kind/name, e.g. Deployment/iris-blue",
                    suggestion=did_you_mean(i, known),
                )
                for i in unknown
            ]
        )
    wanted: set[str] = set()
    stack = list(only)
    while stack:
        node_id = stack.pop()
        if node_id not in wanted:
            wanted.add(node_id)
            stack.extend(graph.get(node_id).parents)
    return [i for i in graph.nodes if i in wanted]
