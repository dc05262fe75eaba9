"""The docker target: blue/green deployments behind the target's router, and their deletion.

deploy(): start the new containers (spec.replicas of them) beside the old ones → wait until each
answers /v2/health/ready → point the router at all of them (graceful reload) → check the stable
URL → stop the old containers. If a new container fails its gate, every new one is removed, the
old ones keep serving, and the error names the failing check and shows that container's last log
lines. Every step is idempotent, so re-running after a crash (SIGKILL anywhere) converges.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ...errors import ApplyError
from ...graph import EndpointNode, Graph
from ...plan.target import DeployRequest, DeployResult, FactsRequest, Progress, TargetFacts
from ...spec.workspace import DockerTarget, Target
from ..tls_checks import needs_client_ca
from . import names as N
from . import router_tls
from .containers import backends, gate_seconds, last_logs, remove, run_backend, wait_ready
from .engine import Engines, docker_settings
from .facts import EndpointRouteFact, RouteFact
from .reader import read_docker_facts
from .router import ROUTER_UID, Router, read_route_files, router_base
from .secret_refs import secrets_revision
from .secrets import DeploymentSecrets, remove_copies, resolve_all

DRAIN_SECONDS = 1.0


class DockerDeployments:
    """The docker target type's connection: its engines, read for facts and driven by apply."""

    def __init__(
        self, engines: Engines, workspace: str, base_images: dict[str, str], root: Path, graph: Graph | None = None
    ) -> None:
        self.engines = engines
        self.graph = graph  # the compiled repo: an endpoint's tls settings
        self.root = Path(root)
        self.workspace = workspace
        self.base_images = base_images
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def read_facts(self, request: FactsRequest) -> dict[str, TargetFacts]:
        return dict(read_docker_facts(self.engines, request))

    def close(self) -> None:
        self.engines.close()

    def _lock(self, target_name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(target_name, threading.Lock())

    def router(self, target_name: str, target: DockerTarget) -> Router:
        return Router(
            self.engines.get(target.host),
            self.workspace,
            target_name,
            target.bind_address,
            router_base(self.base_images),
        )

    def deploy(self, req: DeployRequest, *, progress: Progress) -> DeployResult:
        target = docker_settings(req.target)
        client = self.engines.get(target.host)
        router = self.router(req.target_name, target)
        with self._lock(req.target_name):
            progress("router")
            router.ensure()
        resolved = resolve_all(req)
        notes = list(resolved.notes)
        names = N.backends(
            req.workspace,
            req.target_name,
            req.name,
            req.fingerprint,
            req.spec.replicas,
            secrets_revision(resolved.digests),
        )
        current = backends(client, req.workspace, req.target_name, req.name)
        fresh: list[Any] = []
        try:
            servers = [self._replica(client, req, name, current, fresh, resolved, progress) for name in names]
            for i, (container, port) in enumerate(servers, 1):
                if container not in fresh:
                    continue
                ok, failing = wait_ready(container, port, gate_seconds(req.spec), progress)
                if not ok:
                    which = f"replica {i}/{len(names)} ({container.name})" if len(names) > 1 else "the new container"
                    raise self._gate_failed(
                        req, container, which, failing, serving=any(c.name not in names for c in current)
                    )
        except BaseException:
            for container in fresh:  # roll back: nothing new stays behind, the route is untouched
                remove(container, stop_timeout=2)
                remove_copies(req.root, container.name)
            raise
        cert = (
            router_tls.resolve(
                req.root, req.spec.tls.secret_ref, verify_client=req.spec.auth.mode == "mtls", resource=req.resource
            )
            if req.spec.tls
            else None
        )
        with self._lock(req.target_name):
            progress("switching traffic")
            stable = router.allocate_port(req.name, target.port_range)
            replicas = tuple((c.name, port) for c, port in servers)
            self._install(router, cert)
            router.set_route(
                RouteFact(
                    req.name,
                    names[0],
                    stable,
                    servers[0][1],
                    req.fingerprint,
                    req.spec.lifecycle.prevent_destroy,
                    replicas if len(replicas) > 1 else (),
                    cert.route if cert else None,
                )
            )
            self._prune(router)
        url = f"{'https' if cert else 'http'}://{target.bind_address}:{stable}"
        self._check_stable(url, req.resource, cert)
        old = [c for c in current if c.name not in names]
        if old:
            progress("draining old container" + "s" * (len(old) > 1))
            time.sleep(DRAIN_SECONDS)
            for c in old:
                remove(c)
                remove_copies(req.root, c.name)
        if len(names) > 1:
            notes.append(f"{len(names)} replicas behind {url}")
        return DeployResult(url=url, container=names[0], notes=tuple(notes))

    def _replica(
        self,
        client,
        req: DeployRequest,
        name: str,
        current: list[Any],
        fresh: list[Any],  # noqa: ANN001
        resolved: DeploymentSecrets,
        progress: Progress,
    ) -> tuple[Any, int]:
        """One replica's container: a healthy one left by an earlier run of this apply, else a new one."""
        existing = next((c for c in current if c.name == name), None)
        if existing is not None and existing.status == "running":
            port = int(existing.labels.get("modelctl.io/backend-port", "0")) or None
            if port and wait_ready(existing, port, 10, progress)[0]:
                return existing, port
        if existing is not None:
            remove(existing, stop_timeout=2)
        if not fresh:
            self._pull_if_missing(client, req.image_ref, progress)
        progress(f"starting {name}")
        container, port = run_backend(client, req, name, resolved)
        fresh.append(container)
        return container, port

    def _gate_failed(
        self, req: DeployRequest, container: Any, which: str, failing: str, *, serving: bool
    ) -> ApplyError:
        logs = last_logs(container)
        kept = "the previous container keeps serving" if serving else "nothing was serving before"
        return ApplyError(
            f"{req.resource}: {which} failed its health gate: {failing}; rolled back ({kept}).\n"
            f"--- last {len(logs.splitlines())} log lines of {container.name} ---\n{logs}",
            resource=req.resource,
        )

    def _pull_if_missing(self, client, ref: str, progress: Progress) -> None:  # noqa: ANN001
        from docker.errors import DockerException, ImageNotFound

        try:
            client.api.inspect_image(ref)
        except ImageNotFound:
            progress("pulling image")
            try:
                client.images.pull(ref)
            except DockerException as exc:
                raise ApplyError(f"cannot pull {ref}: {exc}") from None

    def _install(self, router: Router, cert: router_tls.Certificate | None) -> None:
        """Upload a route's certificate into the router before its route file names it."""
        if cert is not None:
            router_tls.upload(router.container(), ROUTER_UID, cert)

    def _prune(self, router: Router) -> None:
        """Drop certificate folders that no route file names any more."""
        c = router.container()
        if c is None:
            return
        routes, endpoints = read_route_files(router.client, c.id)
        keep = {r.tls.folder for r in routes if r.tls} | {e.tls.folder for e in endpoints if e.tls}
        router_tls.prune(c, keep)

    def _check_stable(
        self, url: str, resource: str, cert: router_tls.Certificate | None = None, *, answers: bool = True
    ) -> None:
        if cert is not None:
            host_port, _, prefix = url.split("://", 1)[1].partition("/")
            host, _, port = host_port.rpartition(":")
            host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
            problem = router_tls.check_served(
                host,
                int(port),
                cert.files,
                verify_client=cert.route.verify_client,
                path=f"/{prefix}/v2/health/ready" if prefix else "/v2/health/ready",
                answers=answers,
            )
            if problem is not None:
                raise ApplyError(
                    f"{resource}: the stable URL {url} does not serve the certificate of tls secret "
                    f"'{cert.route.secret}' as expected ({problem})",
                    resource=resource,
                )
            return
        deadline = time.monotonic() + 10
        last = ""
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                try:
                    resp = http.get(url + "/v2/health/ready")
                    if resp.status_code == 200:
                        return
                    last = f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.1)
        raise ApplyError(
            f"{resource}: the stable URL {url} does not answer through the router ({last})", resource=resource
        )

    def delete(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None:
        settings = docker_settings(target)
        client = self.engines.get(settings.host)
        router = self.router(target_name, settings)
        with self._lock(target_name):
            progress("removing route")
            router.remove_route(name)
            self._prune(router)
        for c in backends(client, self.workspace, target_name, name):
            progress(f"stopping {c.name}")
            remove(c)
            remove_copies(self.root, c.name)

    def teardown(self, target_name: str, target: Target, *, progress: Progress) -> None:
        """Remove the target's router, its route files' and certificates' volumes (found by labels, checked before removal);
        the router image stays (it is shared by content)."""
        from docker.errors import NotFound

        from . import labels as L
        from .router import find_routers

        settings = docker_settings(target)
        client = self.engines.get(settings.host)
        with self._lock(target_name):
            for c in find_routers(client, self.workspace, target_name):
                progress(f"removing the router {c.name}")
                c.remove(force=True)
            routes = N.routes_volume(self.workspace, target_name)
            for name, role in ((routes, "routes"), (router_tls.volume_name(routes), "tls")):
                try:
                    volume = client.volumes.get(name)
                except NotFound:
                    continue
                if L.owned_by(volume.attrs.get("Labels"), self.workspace, **{L.TARGET: target_name, L.ROLE: role}):
                    progress(f"removing the volume {name}")
                    volume.remove(force=True)

    # --- endpoints -------------------------------------------------------------------------------

    def route_endpoint(
        self,
        target_name: str,
        target: Target,
        name: str,
        traffic: dict[str, int],
        path: str,
        fingerprint: str,
        *,
        progress: Progress,
    ) -> str:
        """Give the endpoint its stable port on the router and split it across its deployments."""
        settings = docker_settings(target)
        router = self.router(target_name, settings)
        cert = self._endpoint_certificate(name)
        with self._lock(target_name):
            progress("router")
            router.ensure()
            port = router.allocate_port(name, settings.port_range, endpoint=True)
            progress("routing")
            self._install(router, cert)
            router.set_endpoint(
                EndpointRouteFact(
                    name, port, fingerprint, tuple(sorted(traffic.items())), path, cert.route if cert else None
                )
            )
            self._prune(router)
        url = f"{'https' if cert else 'http'}://{settings.bind_address}:{port}" + (
            path.rstrip("/") if path != "/" else ""
        )
        if any(traffic.values()) or cert is not None:
            self._check_stable(url, f"Endpoint/{name}", cert, answers=any(traffic.values()))
        return url

    def _endpoint_certificate(self, name: str) -> router_tls.Certificate | None:
        node = self.graph.nodes.get(f"Endpoint/{name}") if self.graph is not None else None
        if not isinstance(node, EndpointNode) or node.spec.tls is None:
            return None
        return router_tls.resolve(
            self.root,
            node.spec.tls.secret_ref,
            verify_client=needs_client_ca(node, self.graph.nodes if self.graph else {}),
            resource=node.id,
        )

    def delete_endpoint(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None:
        router = self.router(target_name, docker_settings(target))
        with self._lock(target_name):
            progress("removing endpoint")
            router.remove_endpoint(name)
            self._prune(router)
