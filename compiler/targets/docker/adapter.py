"""The docker target: blue/green deployments behind the target's router, and their deletion.

deploy(): start the new container beside the old one → wait until /v2/health/ready is 200 →
point the router at it (graceful reload) → check the stable URL → stop the old container(s).
If the new container fails its gate it is removed, the old one keeps serving, and the error
names the failing check and shows the container's last log lines. Every step is idempotent, so
re-running after a crash (SIGKILL anywhere) converges.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ...plan.errors import ApplyError
from ...plan.state import RouteFact
from ..base import DeployRequest, DeployResult, Progress
from .containers import backends, container_name, gate_seconds, last_logs, remove, run_backend, wait_ready
from .engine import Engines
from .router import Router, router_base
from .secrets import remove_copies

DRAIN_SECONDS = 1.0


class DockerDeployments:
    def __init__(self, engines: Engines, workspace: str, base_images: dict[str, str], root: Path) -> None:
        self.engines = engines
        self.root = Path(root)
        self.workspace = workspace
        self.base_images = base_images
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, target_name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(target_name, threading.Lock())

    def router(self, target_name: str, target: Any) -> Router:
        return Router(self.engines.get(target.host), self.workspace, target_name, target.bind_address,
                      router_base(self.base_images))

    def deploy(self, req: DeployRequest, *, progress: Progress) -> DeployResult:
        client = self.engines.get(req.target.host)
        router = self.router(req.target_name, req.target)
        with self._lock(req.target_name):
            progress("router")
            router.ensure()
        name = container_name(req.workspace, req.name, req.fingerprint)
        current = backends(client, req.workspace, req.target_name, req.name)
        notes: list[str] = []
        new = next((c for c in current if c.name == name), None)
        port = None
        if new is not None and new.status == "running":
            port = int(new.labels.get("modelctl.io/backend-port", "0")) or None
            ok, _ = wait_ready(new, port, 10, progress) if port else (False, "")
            if not ok:
                remove(new, stop_timeout=2)
                new = None
        elif new is not None:
            remove(new, stop_timeout=2)
            new = None
        if new is None:
            self._pull_if_missing(client, req.image_ref, progress)
            progress("starting container")
            new, port = run_backend(client, req, name, notes)
            ok, failing = wait_ready(new, port, gate_seconds(req.spec), progress)
            if not ok:
                logs = last_logs(new)
                remove(new, stop_timeout=2)
                remove_copies(req.root, name)
                serving = "the previous container keeps serving" if any(c.name != name for c in current) \
                    else "nothing was serving before"
                raise ApplyError(f"{req.resource}: the new container failed its health gate: {failing}; "
                                 f"rolled back ({serving}).\n--- last {len(logs.splitlines())} log lines of "
                                 f"{name} ---\n{logs}", resource=req.resource)
        with self._lock(req.target_name):
            progress("switching traffic")
            stable = router.allocate_port(req.name, req.target.port_range)
            router.set_route(RouteFact(req.name, name, stable, port, req.fingerprint,
                                       req.spec.lifecycle.prevent_destroy))
        url = f"http://{req.target.bind_address}:{stable}"
        self._check_stable(url, req.resource)
        old = [c for c in current if c.name != name]
        if old:
            progress("draining old container")
            time.sleep(DRAIN_SECONDS)
            for c in old:
                remove(c)
                remove_copies(req.root, c.name)
        return DeployResult(url=url, container=name, notes=tuple(notes))

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

    def _check_stable(self, url: str, resource: str) -> None:
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
        raise ApplyError(f"{resource}: the stable URL {url} does not answer through the router ({last})",
                         resource=resource)

    def delete(self, target_name: str, target: Any, name: str, *, progress: Progress) -> None:
        client = self.engines.get(target.host)
        router = self.router(target_name, target)
        with self._lock(target_name):
            progress("removing route")
            router.remove_route(name)
        for c in backends(client, self.workspace, target_name, name):
            progress(f"stopping {c.name}")
            remove(c)
            remove_copies(self.root, c.name)
