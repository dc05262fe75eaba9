"""The front half of the compiler as one call: load → validate → resolve into a graph."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .diagnostics import Diagnostic, DiagnosticError, errors_only
from .graph import DeploymentNode, EndpointNode, Graph, Node, build_graph
from .graph.resolve import TargetChecks
from .load import load_repo
from .plan.target import TargetTypes
from .spec import Workspace
from .targets import TARGET_TYPES, tls_checks


@dataclass
class Compiled:
    root: Path
    graph: Graph | None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.graph is not None and not errors_only(self.diagnostics)

    def require(self) -> Graph:
        """The graph, or DiagnosticError with every problem found."""
        if self.graph is None or not self.ok:
            raise DiagnosticError(sorted(errors_only(self.diagnostics), key=Diagnostic.sort_key))
        return self.graph


def compile_repo(root: Path, *, stage: str | None = None, types: TargetTypes | None = None) -> Compiled:
    """types: the target types whose own rules are checked (default: every registered type)."""
    loaded = load_repo(Path(root), stage=stage)
    graph, problems = build_graph(loaded, target_checks(TARGET_TYPES if types is None else types, loaded.root))
    diagnostics = sorted(loaded.diagnostics + problems, key=Diagnostic.sort_key)
    return Compiled(loaded.root, graph, diagnostics)


def target_checks(types: TargetTypes, root: Path | None = None) -> TargetChecks:
    """Each target type's rules over the deployments and endpoints on its targets; with the repo's
    root, also the TLS secrets they name (`compiler/targets/tls_checks.py`)."""

    def check(nodes: Mapping[str, Node], diagnose: Callable[..., Diagnostic]) -> list[Diagnostic]:
        found: list[Diagnostic] = []
        for name, target_type in types.items():
            deployments = [n for n in nodes.values() if isinstance(n, DeploymentNode) and n.target.type == name]
            endpoints = [n for n in nodes.values() if isinstance(n, EndpointNode) and n.target.type == name]
            if deployments or endpoints:
                found += target_type.check(nodes, deployments, endpoints, diagnose)
                if root is not None:
                    found += tls_checks.check(root, target_type, nodes, [*deployments, *endpoints], diagnose)
        return found

    return check


def load_workspace(root: Path) -> Workspace:
    """Just the repo's Workspace document (for commands that need only the registry settings)."""
    return load_workspace_and_names(root)[0]


def load_workspace_and_names(root: Path) -> tuple[Workspace, frozenset[tuple[str, str]]]:
    """The repo's Workspace and the (kind, name) of every document the repo declares, valid or not:
    what a command checks a name on its command line against."""
    loaded = load_repo(Path(root))
    found = [d.doc for d in loaded.documents if isinstance(d.doc, Workspace)]
    if not found and not loaded.root.is_dir():
        raise DiagnosticError(loaded.diagnostics)  # "not a directory", once
    if not found:
        ws_errors = [
            d
            for d in loaded.diagnostics
            if "Workspace" in d.message or d.location and d.location.file.endswith("modelctl.yaml")
        ]
        raise DiagnosticError(
            ws_errors
            or [
                Diagnostic(
                    f"no Workspace document in {loaded.root}",
                    code="no-workspace",
                    suggestion="run 'modelctl init' or pass the repo folder",
                )
            ]
        )
    return found[0], frozenset(loaded.declared)
