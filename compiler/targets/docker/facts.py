"""The facts of a docker target, as read back from its engine: backend containers, the router's routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...plan.target import DeploymentStatus, EndpointStatus, RollbackMark


@dataclass(frozen=True)
class ContainerFact:
    id: str
    name: str
    target: str
    deployment: str
    fingerprint: str
    image_ref: str
    state: str  # running | exited | created | restarting | …
    health: str | None  # healthy | unhealthy | starting | None
    spec: str  # the deployment spec it was started from (compact JSON)
    backend_port: int | None
    prevent_destroy: bool = False
    secrets: tuple[tuple[str, str], ...] | None = None  # (secret id, digest of the value it started with);
    #                                                   None: started by a version that did not record them
    renamed: bool = False  # found by its labels under an earlier version's name: the plan rolls it
    rollback: RollbackMark | None = None  # started by `modelctl rollback`

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class RouteFact:
    deployment: str
    container: str  # the first backend container receiving the traffic
    port: int  # the stable published port
    backend_port: int  # the first backend's port
    fingerprint: str
    prevent_destroy: bool = False
    replicas: tuple[tuple[str, int], ...] = ()  # every (container, backend port); empty: just the first

    @property
    def servers(self) -> tuple[tuple[str, int], ...]:
        """(container, backend port) of every replica the router balances over."""
        return self.replicas or ((self.container, self.backend_port),)


@dataclass(frozen=True)
class EndpointRouteFact:
    """An endpoint's listener on the router: a stable port split across deployments."""

    endpoint: str
    port: int
    fingerprint: str
    traffic: tuple[tuple[str, int], ...]  # (deployment, percent), sorted
    path: str = "/"


@dataclass(frozen=True)
class RouterFact:
    target: str
    container: str
    running: bool
    bind_address: str
    routes: tuple[RouteFact, ...] = ()
    endpoints: tuple[EndpointRouteFact, ...] = ()
    renamed: bool = False  # found by its labels under an earlier version's name: the plan replaces it

    def route(self, deployment: str) -> RouteFact | None:
        return next((r for r in self.routes if r.deployment == deployment), None)

    def endpoint(self, name: str) -> EndpointRouteFact | None:
        return next((e for e in self.endpoints if e.endpoint == name), None)


@dataclass(frozen=True)
class DockerFacts:
    """What one docker target runs for this workspace: backend containers, its router, and the
    current digests of the secrets its deployments use (never values)."""

    containers: tuple[ContainerFact, ...] = ()
    router: RouterFact | None = None
    secrets: Mapping[str, str | None] = field(default_factory=dict)  # secret id → digest now (None: not found)

    def of(self, deployment: str) -> list[ContainerFact]:
        return [c for c in self.containers if c.deployment == deployment]

    def serving(self, deployment: str) -> ContainerFact | None:
        """The container receiving the deployment's traffic (the route's first replica)."""
        route = self.router.route(deployment) if self.router else None
        names = [name for name, _ in route.servers] if route else []
        return next((c for c in self.of(deployment) if names and c.name == names[0]), None)

    def status(self, deployment: str) -> DeploymentStatus:
        route = self.router.route(deployment) if self.router else None
        names = tuple(name for name, _ in route.servers) if route else ()
        by_name = {c.name: c for c in self.containers}
        replicas = [by_name[n] for n in names if n in by_name]
        if not replicas:
            return DeploymentStatus("missing")
        first = replicas[0]
        health = (first.health or first.state) if first.running else first.state
        if len(names) > 1:
            up = sum(1 for c in replicas if c.running)
            health = f"{up}/{len(names)} running" + (f", {health}" if up else "")
        if self.router and not self.router.running:
            health += " (router down)"
        return DeploymentStatus(health, names)

    def endpoint_status(self, endpoint: str) -> EndpointStatus:
        """The endpoint's listener on the router: URL, live split, and the health of what gets traffic."""
        listener = self.router.endpoint(endpoint) if self.router else None
        if self.router is None or listener is None:
            return EndpointStatus("missing")
        url = f"http://{self.router.bind_address}:{listener.port}" + (
            listener.path.rstrip("/") if listener.path != "/" else ""
        )
        if not self.router.running:
            return EndpointStatus("router down", url, listener.traffic)
        unwell = []
        for deployment, percent in listener.traffic:
            health = self.status(deployment).health
            if percent > 0 and health != "healthy":
                unwell.append(f"{deployment}: {health}")
        health = f"degraded ({'; '.join(unwell)})" if unwell else "healthy"
        return EndpointStatus(health, url, listener.traffic)

    def fingerprint(self) -> Any:
        r = self.router
        return {
            "containers": sorted([c.deployment, c.name, c.fingerprint, c.running] for c in self.containers),
            "secrets": dict(sorted(self.secrets.items())),
            "router": None
            if r is None
            else [
                r.running,
                sorted([x.deployment, [list(b) for b in x.servers], x.port, x.fingerprint] for x in r.routes),
                sorted([e.endpoint, e.port, e.fingerprint] for e in r.endpoints),
            ],
        }
