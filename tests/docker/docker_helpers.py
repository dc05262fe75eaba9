"""A throw-away workspace on the real Docker engine and OCI registry, cleaned up after each test.

Every test gets its own workspace name (so labels, containers and the router are its own), its
own port range and image repository. The sklearn environment is the curated one, so its
dependency layer is built once per machine and reused by every test.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from compiler.plan import Scope
from compiler.plan.apply import execute
from compiler.plan.services import Services
from compiler.plan.lock import workspace_lock
from compiler.workflow import Session

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "iris"
MODELCTL = [sys.executable, "-m", "compiler.cli.main"]

WORKSPACE = """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata: {{name: {name}}}
spec:
  imageRegistry: {registry}/{name}
  baseImages: {{python:3.11-slim: {base}}}
  targets:
    local: {{type: docker, portRange: [{lo}, {hi}]}}
"""

MODEL = """\
apiVersion: modelctl.io/v1
kind: Model
metadata: {name: iris}
spec:
  framework: sklearn
  path: artifacts/model.joblib
  signature:
    inputs: [{name: features, dtype: float32, shape: [-1, 4]}]
    outputs: [{name: label, dtype: int64, shape: [-1]}]
"""

IMAGE = """\
apiVersion: modelctl.io/v1
kind: Image
metadata: {name: scorer}
spec: {models: [iris], environment: curated/sklearn}
"""

DEPLOYMENT = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  image: scorer
  target: local
  resources: {{cpu: "1", memory: 512Mi}}
  auth: {{mode: key, secretRef: test-keys}}
  probes: {{readiness: {{periodSeconds: 1, failureThreshold: 3}}}}
"""


@dataclass
class Workspace:
    root: Path
    name: str
    docker: object
    counts: dict = field(default_factory=dict)

    def write(self, rel: str, text: str | bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def session(self, scope: Scope = Scope(), writable: bool = False) -> Session:
        return Session.open(self.root, scope, writable=writable)

    def plan(self, scope: Scope = Scope()):
        with self.session(scope) as s:
            return s.plan()

    def apply(self, scope: Scope = Scope(), wrap=None):  # noqa: ANN001
        """What `modelctl apply --auto-approve` does, in-process: lock, read, plan, execute."""
        with self.session(scope, writable=True) as s:
            with workspace_lock(s.registry, self.name):
                plan = s.plan()
                services = s.services()
                if wrap:
                    services = wrap(services)
                return plan, execute(plan, s.graph, services, s.types)

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([*MODELCTL, *args], cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              env=_env())

    def key(self) -> str:
        return (self.root / ".modelctl/secrets/test-keys").read_text().strip()

    def backends(self, deployment: str | None = None) -> list:
        labels = ["app.kubernetes.io/managed-by=modelctl", f"modelctl.io/workspace={self.name}",
                  "modelctl.io/role=backend"]
        if deployment:
            labels.append(f"modelctl.io/resource=Deployment/{deployment}")
        return self.docker.containers.list(all=True, filters={"label": labels})

    def url(self, deployment: str) -> str:
        with self.session() as s:
            record = next(r for r in s.registry.list_deployments() if r.name == deployment)
        return record.url

    def score(self, deployment: str, rows: list[list[float]]) -> httpx.Response:
        return httpx.post(self.url(deployment) + "/score", json={"data": rows},
                          headers={"Authorization": f"Bearer {self.key()}"}, timeout=10)


def _env() -> dict:
    import os
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["MODELCTL_DEBUG"] = ""
    return env


@pytest.fixture
def workspace(tmp_path, docker_client, oci_registry, base_image):
    name = "t" + uuid.uuid4().hex[:8]
    lo = random.randrange(20000, 29000, 20)
    ws = Workspace(tmp_path / "repo", name, docker_client)
    ws.write("modelctl.yaml", WORKSPACE.format(name=name, registry=oci_registry, base=base_image, lo=lo, hi=lo + 19))
    ws.write("models/iris.yaml", MODEL)
    ws.write("artifacts/model.joblib", (EXAMPLE / "artifacts/iris.joblib").read_bytes())
    ws.write("images/scorer.yaml", IMAGE)
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue"))
    yield ws
    for c in docker_client.containers.list(all=True, filters={"label": [f"modelctl.io/workspace={name}"]}):
        c.remove(force=True, v=True)
    for v in docker_client.volumes.list(filters={"label": f"modelctl.io/workspace={name}"}):
        v.remove(force=True)
    shutil.rmtree(tmp_path / "repo", ignore_errors=True)


class Counting:
    """Proxy that records every call of the named (writing) methods, then forwards it."""

    def __init__(self, inner, writes: set[str], calls: list) -> None:  # noqa: ANN001
        self._inner, self._writes, self._calls = inner, writes, calls

    def __getattr__(self, name: str):  # noqa: ANN204
        attr = getattr(self._inner, name)
        if name not in self._writes:
            return attr

        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            self._calls.append(name)
            return attr(*args, **kwargs)
        return counted


REGISTRY_WRITES = {"register_model", "register_image", "record_deployment", "remove_deployment", "record_action",
                   "acquire_lock", "renew_lock", "release_lock", "tag", "set_alias", "delete_model", "delete_image"}


def counting(calls: list):  # noqa: ANN201
    def wrap(services: Services) -> Services:
        return Services(registry=Counting(services.registry, REGISTRY_WRITES, calls),
                        builder=Counting(services.builder, {"build", "push"}, calls),
                        connections={k: Counting(v, {"deploy", "delete", "route_endpoint", "delete_endpoint"}, calls)
                                     for k, v in services.connections.items()})
    return wrap


class Hammer:
    """A client thread posting to the stable URL until stopped (bounded); records every status."""

    def __init__(self, url: str, key: str, limit: int = 50_000) -> None:
        self.url, self.key, self.limit = url, key, limit
        self.statuses: list[int | str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {self.key}"}) as client:
            while not self._stop.is_set() and len(self.statuses) < self.limit:
                try:
                    self.statuses.append(client.post(self.url + "/score", json={"data": [[5.1, 3.5, 1.4, 0.2]]})
                                         .status_code)
                except httpx.HTTPError as exc:
                    self.statuses.append(type(exc).__name__)

    def __enter__(self) -> "Hammer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
