"""`modelctl plan --base REF [--head REF]`: what a pull request changes, from git objects only."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic, DiagnosticError, errors_only
from ..gitinfo import open_repo
from ..graph import Graph
from ..pipeline import compile_repo
from ..render.render import build_tree
from ..render.templating import Templates
from ..render.tree import OutputTree
from ..targets import TARGET_TYPES
from .changes import ChangeSet, compare
from .revision import Revision, export, resolve


@dataclass(frozen=True)
class PullRequestPlan:
    base: Revision
    head: Revision
    changes: ChangeSet
    base_problems: tuple[Diagnostic, ...] = ()  # the base did not compile: compared against nothing


def pr_plan(repo_dir: Path, base_ref: str, head_ref: str = "HEAD", *, stage: str | None = None) -> PullRequestPlan:
    repo, folder = open_repo(repo_dir)
    base, head = resolve(repo, base_ref, folder), resolve(repo, head_ref, folder)
    with tempfile.TemporaryDirectory(prefix="modelctl-pr-") as tmp:
        head_graph, head_tree = _compile(export(repo, head, Path(tmp) / "head"), stage)
        try:
            base_graph, base_tree = _compile(export(repo, base, Path(tmp) / "base"), stage)
            problems: tuple[Diagnostic, ...] = ()
        except DiagnosticError as err:
            base_graph, base_tree, problems = None, None, tuple(err.diagnostics)
        changes = compare(base_graph, head_graph, base_tree, head_tree)  # reads copied files while tmp exists
    return PullRequestPlan(base, head, changes, problems)


def _compile(root: Path, stage: str | None) -> tuple[Graph, OutputTree]:
    compiled = compile_repo(root, stage=stage)
    if errors_only(compiled.diagnostics):
        raise DiagnosticError(errors_only(compiled.diagnostics))
    graph = compiled.graph
    assert graph is not None  # no errors: the graph was built
    tree, _objects = build_tree(graph, list(graph.nodes), None, Templates(), types=TARGET_TYPES)
    return graph, tree
