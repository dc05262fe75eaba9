"""One plan/apply/drift command's session: compile the repo, read git, select, open backends, read live state.

    with Session.open(Path("examples/iris"), Scope(targets=("local",))) as s:
        plan = s.plan()

Each command compiles once, reads git once and selects once (a test counts them); the plan made
inside apply's lock reuses all three and only re-reads live state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import gitinfo, pipeline
from ..diagnostics import errors_only
from ..gitinfo import GitInfo
from ..graph import Graph
from ..plan import rollback
from ..plan import scope as plan_scope
from ..plan.diff import make_plan
from ..plan.model import Plan, Scope
from ..plan.scope import Selection, facts_requests, wanted
from ..plan.services import ImageBuilder, Services
from ..plan.state import LiveState, RegistryReader, StateReader, Wanted, read_live_state
from ..plan.target import Connection, ConnectOptions, FactsRequest, TargetTypes
from ..registry import Registry, open_registry, open_registry_if_present
from ..targets import TARGET_TYPES


@dataclass
class Session:
    root: Path
    graph: Graph
    scope: Scope
    types: TargetTypes
    selection: Selection
    git: GitInfo
    warnings: tuple[str, ...] = ()
    registry: Registry | None = None
    force_conflicts: bool = False  # apply --force-conflicts, handed to every connection
    hold_rollbacks: bool = False  # reconcile --self-heal: plans leave deployments held by a rollback alone
    _connections: dict[str, Connection] = field(default_factory=dict, repr=False)
    _oci: Any = field(default=None, repr=False)

    @classmethod
    def open(
        cls,
        root: Path,
        scope: Scope = Scope(),
        *,
        types: TargetTypes = TARGET_TYPES,
        writable: bool = False,
        ignore: tuple[Path, ...] = (),
    ) -> Session:
        """ignore: files or folders whose changes do not make the work tree dirty (a saved plan)."""
        compiled = pipeline.compile_repo(Path(root), stage=scope.stage, types=types)
        graph = compiled.require()
        warnings = tuple(
            f"{d.location}: {d.message}" if d.location else d.message
            for d in compiled.diagnostics
            if d not in errors_only(compiled.diagnostics)
        )
        selection = plan_scope.select(graph, scope, types)
        root = Path(graph.root)
        ws = graph.workspace.spec
        git = read_work_tree(root, ws.targets, types, ignore)
        opener = open_registry if writable else open_registry_if_present
        registry = opener(ws.registry, ws.artifacts, root)
        return cls(root, graph, scope, types, selection, git, warnings, registry)

    def writable(self) -> Session:
        """Create the registry database if this is the first apply (plans never create it)."""
        if self.registry is None:
            ws = self.graph.workspace.spec
            self.registry = open_registry(ws.registry, ws.artifacts, self.root)
        return self

    def close(self) -> None:
        if self.registry is not None:
            self.registry.close()
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        if self._oci is not None:
            self._oci.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connection(self, type_name: str) -> Connection:
        """The target type's backends, opened on first use and shared by reading and apply."""
        if type_name not in self._connections:
            self._connections[type_name] = self.types[type_name].connect(
                ConnectOptions(
                    self.graph.workspace.name,
                    self.root,
                    dict(self.graph.workspace.spec.base_images),
                    force_conflicts=self.force_conflicts,
                    graph=self.graph,
                )
            )
        return self._connections[type_name]

    def read_live(self) -> LiveState:
        want = wanted(self.graph, self.selection)
        readers: list[StateReader] = [RegistryReader(self.registry)]
        if want.refs:
            from ..targets.oci import OciClient, OciReader

            self._oci = self._oci or OciClient()
            readers.append(OciReader(self._oci))
        for type_name, request in facts_requests(self.graph, self.selection, self.types).items():
            readers.append(_FactsReader(self.connection(type_name), request))
        return read_live_state(readers, want)

    def plan(self, live: LiveState | None = None) -> Plan:
        live = live if live is not None else self.read_live()
        plan = self._plan(live)
        if not self.hold_rollbacks:
            return plan
        target_types = {name: t.type for name, t in self.graph.workspace.spec.targets.items()}
        return rollback.without(plan, set(rollback.held(plan.actions, live, target_types, self.types)))

    def _plan(self, live: LiveState) -> Plan:
        return make_plan(
            self.graph,
            live,
            types=self.types,
            scope=self.scope,
            selection=self.selection,
            git_commit=self.git.commit,
            git_branch=self.git.branch,
            git_dirty=self.git.dirty if self.git.in_git else None,
            warnings=self.warnings,
        )

    def services(self) -> Services:
        """What apply writes through: the registry, the image builder, a connection per applied type."""
        from ..targets.docker.build import EngineBuilder

        assert self.registry is not None, "apply opens the registry writable first"
        # the types this workspace's targets use (docker always: its engine builds the images)
        used = {t.type for t in self.graph.workspace.spec.targets.values()} | {"docker"}
        connections = {name: self.connection(name) for name in sorted(used) if self.types[name].applies}
        builder: ImageBuilder = EngineBuilder.for_workspace(connections["docker"], self.graph.workspace.spec)
        return Services(registry=self.registry, builder=builder, connections=connections)


def read_work_tree(
    root: Path, targets: Mapping[str, Any], types: TargetTypes, ignore: tuple[Path, ...] = ()
) -> GitInfo:
    """Commit, branch and dirtiness, not counting what apply writes itself (the folders targets publish into)."""
    owned = tuple(p for name, t in sorted(targets.items()) for p in types[t.type].owned_paths(root, name, t))
    return gitinfo.work_tree_info(root, tuple(ignore) + owned)


@dataclass(frozen=True)
class _FactsReader:
    """A target type's facts as a StateReader: {"targets": {target name: facts}}."""

    connection: Connection
    request: FactsRequest

    def read(self, wanted: Wanted) -> dict[str, Any]:
        return {"targets": self.connection.read_facts(self.request)}
