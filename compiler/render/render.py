"""render_graph: every target's files for a graph (or a subset), checked, then published atomically."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..diagnostics import Diagnostic, DiagnosticError, did_you_mean
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, Node
from . import docker
from .cache import KeptFile, RenderIndex, node_keys
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
    rendered: set[str] = field(default_factory=set)  # node ids rendered this time (the others were kept)

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
    cache: bool = True,
) -> RenderResult:
    """Render `graph` into `out`; on any problem raise DiagnosticError and leave `out` as it was.

    types: the target types, by name: each renders its own deployments' and endpoints' artifacts
        (`compiler.targets.TARGET_TYPES`).
    only: node ids ("Deployment/iris-blue") to render, with everything they depend on.
    model_versions: model node id -> registry version; offline, "sha256-<12 hex>" of the artifact.
    model_files: model node id -> (local files, digest) to build from instead of the repo's artifact:
        apply passes the registry's copy of a pinned version (`iris@3`).
    cache: keep the files of nodes whose inputs did not change since the last render into `out`
        (see cache.py; off, or with `templates`/`model_files`, every node is rendered).
    """
    with _gc_paused():
        return _render(graph, Path(out), types, only, model_versions, templates, model_files, cache)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while rendering: it allocates many small, acyclic objects, and each full
    collection walks the whole graph held in memory (measured: a third of a warm render's CPU)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _render(
    graph: Graph,
    out: Path,
    types: TargetRenderers,
    only: set[str] | None,
    model_versions: Mapping[str, str] | None,
    templates: Templates | None,
    model_files: Mapping[str, tuple[Path, str]] | None,
    cache: bool,
) -> RenderResult:
    check_out_dir(out, Path(graph.root))
    selected = select(graph, only)
    index: RenderIndex | None = None
    keys: dict[str, str] = {}
    kept: dict[str, tuple[int, list[KeptFile]]] = {}
    if cache and templates is None and not model_files:  # other templates/files: not what the keys cover
        index = RenderIndex.load(Path(graph.root), out)
        keys = node_keys(graph, selected, model_versions)
        kept = index.reusable(out.resolve(), keys)
    todo = [i for i in selected if i not in kept]
    counts: dict[str, int] = {}
    tree, _ = build_tree(graph, todo, model_versions, templates or Templates(), model_files, types=types, counts=counts)
    previous_out = str(out.resolve())
    for node_id, (objects, previous) in kept.items():
        counts[node_id] = objects
        for kept_file in previous:
            tree.keep(kept_file.path, node_id, previous_out, kept_file.sha256)
    files = sorted((RenderedFile(f.path, f.sha256(), f.node) for f in tree.files.values()), key=lambda f: f.path)
    nodes = {node_id: graph.get(node_id).fingerprint for node_id in sorted(selected)}
    manifest = {
        "generator": GENERATOR,
        "schemaVersion": MANIFEST_VERSION,
        "nodes": nodes,
        "files": {f.path: {"node": f.node, "sha256": f.sha256} for f in files},
    }
    manifest_text = json_text_fast(manifest)
    result = RenderResult(out.resolve(), files, nodes, sum(counts.values()), set(todo))
    if index is not None and not todo and _holds_exactly(out, manifest_text, len(files)):
        return result  # nothing changed: `out` already is this render
    tree.add(MANIFEST, "", manifest_text)
    stats = publish(tree, out)
    if index is not None:
        by_node: dict[str, list[tuple[str, str]]] = {}
        for f in files:
            by_node.setdefault(f.node, []).append((f.path, f.sha256))
        index.save(keys, counts, by_node, stats, out.resolve())
    return result


def _holds_exactly(out: Path, manifest_text: str, count: int) -> bool:
    """`out` has this manifest and no file besides it and the `count` files it lists (all checked kept)."""
    try:
        if (out / MANIFEST).read_bytes() != manifest_text.encode():
            return False
    except OSError:
        return False
    return sum(len(names) for _, _, names in os.walk(out)) == count + 1


def build_tree(
    graph: Graph,
    selected: Iterable[str],
    model_versions: Mapping[str, str] | None,
    templates: Templates,
    model_files: Mapping[str, tuple[Path, str]] | None = None,
    *,
    types: TargetRenderers,
    counts: dict[str, int] | None = None,
) -> tuple[OutputTree, int]:
    """All rendered files in memory; every node's problems are collected before giving up.

    counts: if given, filled with each rendered node's number of Kubernetes objects.
    """
    tree = OutputTree()
    objects = 0
    problems: list[Diagnostic] = []
    wanted = set(selected)
    for node in graph:
        if node.id not in wanted:
            continue
        try:
            made = _render_node(graph, node, tree, templates, model_versions or {}, model_files, types)
            objects += made
            if counts is not None:
                counts[node.id] = made
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
