"""Wiring for one plan/apply command: compile the repo, open the registry and engines, read live state.

    with Session.open(Path("examples/iris"), Scope(targets=("local",))) as s:
        plan = s.plan()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..graph import Graph
from ..pipeline import compile_repo
from .apply import Services
from .diff import make_plan
from .model import Plan, Scope
from .scope import select, wanted
from .state import LiveState, OciReader, RegistryReader, open_registry_if_present, read_live_state


@dataclass
class Session:
    root: Path
    graph: Graph
    scope: Scope
    registry: object | None = None
    engines: object | None = None
    _oci: object | None = field(default=None, repr=False)

    @classmethod
    def open(cls, root: Path, scope: Scope = Scope(), *, writable: bool = False) -> "Session":
        graph = compile_repo(Path(root), stage=scope.stage).require()
        ws = graph.workspace.spec
        if writable:
            from ..registry import open_registry
            registry = open_registry(ws.registry, ws.artifacts, Path(graph.root))
        else:
            registry = open_registry_if_present(ws.registry, ws.artifacts, Path(graph.root))
        from ..targets.docker.engine import Engines
        return cls(Path(graph.root), graph, scope, registry, Engines())

    def close(self) -> None:
        if self.registry is not None:
            self.registry.close()
        if self.engines is not None:
            self.engines.close()
        if self._oci is not None:
            self._oci.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_live(self) -> LiveState:
        selection = select(self.graph, self.scope)
        want = wanted(self.graph, selection)
        readers = [RegistryReader(self.registry)]
        if want.refs:
            from ..targets.oci import OciClient
            self._oci = self._oci or OciClient()
            readers.append(OciReader(self._oci))
        if want.publish_targets:
            from ..targets.publish.facts import PublishReader
            readers.append(PublishReader())
        if want.docker_targets and _needs_docker(self.graph, selection):
            from ..targets.docker.facts import DockerReader
            from ..targets.docker.secrets import SecretReader
            readers += [DockerReader(self.engines), SecretReader()]
        return read_live_state(readers, want)

    def plan(self, live: LiveState | None = None) -> Plan:
        from dataclasses import replace

        from ..gitops.revision import work_tree_info
        live = live if live is not None else self.read_live()
        git = work_tree_info(self.root)
        plan = make_plan(self.graph, live, scope=self.scope, git_commit=git.commit)
        return replace(plan, git_branch=git.branch, git_dirty=git.dirty if git.in_git else None)

    def services(self) -> Services:
        from ..targets.docker.adapter import DockerDeployments
        from ..targets.docker.build import DockerBuilder

        ws = self.graph.workspace.spec
        docker_hosts = [t.host for _, t in sorted(ws.targets.items()) if t.type == "docker"]
        build_host = docker_hosts[0] if docker_hosts else None

        class _LazyBuilder:  # connect to the engine only when something is built
            def __init__(self, engines) -> None:  # noqa: ANN001
                self._engines = engines

            def build(self, *a, **kw):  # noqa: ANN002, ANN003, ANN201
                return DockerBuilder(self._engines.get(build_host)).build(*a, **kw)

            def push(self, *a, **kw):  # noqa: ANN002, ANN003, ANN201
                return DockerBuilder(self._engines.get(build_host)).push(*a, **kw)

        docker = DockerDeployments(self.engines, self.graph.workspace.name, dict(ws.base_images), self.root)
        from ..targets.publish.adapter import PublishedDeployments
        published = PublishedDeployments(self.root, self.graph.workspace.name)
        return Services(registry=self.registry, builder=_LazyBuilder(self.engines),
                        targets={"docker": docker, "edge": published, "fpga": published})


def _needs_docker(graph: Graph, selection) -> bool:  # noqa: ANN001
    """Docker facts matter when a docker deployment is in scope or may be pruned."""
    if any(n.kind == "Deployment" for n in selection.nodes):
        return True
    if selection.explicit:  # --target: only when a deployment (maybe one to prune) is named
        return any(rid.startswith("Deployment/") for rid in selection.explicit)
    return bool(selection.docker_targets)
