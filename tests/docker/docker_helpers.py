"""A throw-away workspace on the real Docker engine and OCI registry, cleaned up after each test.

Every test gets its own workspace name (so labels, containers and the router are its own), its
own port range and image repository. The sklearn environment is the curated one, so its
dependency layer is built once per machine and reused by every test.

`Workspace.apply` / `apply_saved` run the real apply entry points (the ones `modelctl apply` runs);
`Recorder` records what the Docker engine, the OCI registry, the model registry and the repo
receive meanwhile, so a test can require that an apply wrote nothing.
"""

from __future__ import annotations

import functools
import inspect
import random
import re
import shutil
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import docker.api.client
import httpx
import pytest
import sqlalchemy
from testkit import wait_until

from compiler.plan import Scope
from compiler.plan.document import write_plan
from compiler.registry import Registry

# apply's entry points: the one place naming their module (tests call Workspace.apply / apply_saved)
from compiler.workflow import Session, apply_repo, apply_saved

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

    def save_plan(self, path: Path, scope: Scope = Scope()):  # noqa: ANN201
        """What `modelctl plan --out PATH` writes, in-process; returns the plan."""
        plan = self.plan(scope)
        write_plan(plan, Path(path))
        return plan

    def apply(self, scope: Scope = Scope(), **options):  # noqa: ANN003, ANN201
        """`modelctl apply --auto-approve`, in-process through the real apply_repo: (plan, outcome).

        outcome is None when the plan had nothing to do. options go to apply_repo (allow_dirty, ...).
        """
        run = apply_repo(self.root, scope, **options)
        assert not run.cancelled, "apply_repo cancelled an auto-approved apply"
        return run.plan, run.outcome

    def apply_saved(self, path: Path, **options):  # noqa: ANN003, ANN201
        """`modelctl apply PLAN.json --auto-approve`, in-process through the real apply_saved: (plan, outcome)."""
        run = apply_saved(Path(path), **options)
        assert not run.cancelled, "apply_saved cancelled an auto-approved apply"
        return run.plan, run.outcome

    def cli(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*MODELCTL, *args], cwd=self.root, capture_output=True, text=True, timeout=timeout, env=_env()
        )

    def key(self) -> str:
        return (self.root / ".modelctl/secrets/test-keys").read_text().strip()

    def backends(self, deployment: str | None = None) -> list:
        labels = [
            "app.kubernetes.io/managed-by=modelctl",
            f"modelctl.io/workspace={self.name}",
            "modelctl.io/role=backend",
        ]
        if deployment:
            labels.append(f"modelctl.io/resource=Deployment/{deployment}")
        return self.docker.containers.list(all=True, filters={"label": labels})

    def url(self, deployment: str) -> str:
        with self.session() as s:
            record = next(r for r in s.registry.list_deployments() if r.name == deployment)
        return record.url

    def score(self, deployment: str, rows: list[list[float]]) -> httpx.Response:
        return httpx.post(
            self.url(deployment) + "/score",
            json={"data": rows},
            headers={"Authorization": f"Bearer {self.key()}"},
            timeout=10,
        )


def _env() -> dict:
    import os

    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["MODELCTL_DEBUG"] = ""
    return env


def new_workspace(root: Path, docker_client, oci_registry: str, base_image: str) -> Workspace:  # noqa: ANN001
    """A workspace of its own name and port range under `root`: the iris model, image `scorer`, `blue`."""
    name = "t" + uuid.uuid4().hex[:8]
    lo = random.randrange(20000, 29000, 20)
    ws = Workspace(root, name, docker_client)
    ws.write("modelctl.yaml", WORKSPACE.format(name=name, registry=oci_registry, base=base_image, lo=lo, hi=lo + 19))
    ws.write("models/iris.yaml", MODEL)
    ws.write("artifacts/model.joblib", (EXAMPLE / "artifacts/iris.joblib").read_bytes())
    ws.write("images/scorer.yaml", IMAGE)
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue"))
    return ws


def remove_workspace(ws: Workspace) -> None:
    """Every container and volume the workspace left on the engine, and its folder."""
    labels = {"label": [f"modelctl.io/workspace={ws.name}"]}
    for c in ws.docker.containers.list(all=True, filters=labels):
        c.remove(force=True, v=True)
    for v in ws.docker.volumes.list(filters={"label": f"modelctl.io/workspace={ws.name}"}):
        v.remove(force=True)
    shutil.rmtree(ws.root, ignore_errors=True)


@pytest.fixture
def workspace(tmp_path, docker_client, oci_registry, base_image):
    ws = new_workspace(tmp_path / "repo", docker_client, oci_registry, base_image)
    yield ws
    remove_workspace(ws)


# --- what apply sends out ------------------------------------------------------------------------

# Registry methods that only read. Every other public method counts as a write, so a write method
# added later is counted without a change here (a new read method shows up as a "write" until it
# is listed: a loud, easy fix, never a silent miss).
REGISTRY_READS = frozenset(
    {
        "get_model",
        "list_models",
        "alias_history",
        "alias_at",
        "materialize_model",
        "get_image",
        "find_image",
        "list_images",
        "list_deployments",
        "list_locks",
        "history",
        "close",
    }
)
HTTP_READS = frozenset({"GET", "HEAD", "OPTIONS"})
SQL_READS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "SHOW"})  # "PRAGMA name = value" is a write
SQL_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "END"})
REGISTRY_DB_FILE = re.compile(r"\.db(-wal|-shm|-journal)?$")  # what changes in it is seen statement by statement


class Recorder:
    """What this process sends out while the `with` block runs:

    - engine: every request of any Docker SDK client to any engine ("POST /containers/create"),
      recorded on the SDK's APIClient, so it sees a client however compiler code got it;
    - http: every request through httpx (the OCI registry: manifests, blobs, published artifacts);
    - registry: every call of a public `compiler.registry.Registry` method, by name;
    - sql: every statement any SQLAlchemy engine runs (the registry database);
    - files: files added, changed or removed under the repo (the registry's database file aside).

    `writes()` is deny by default: whatever is not known to only read. Record only while no other
    thread of the test sends requests (e.g. a Hammer): those would be recorded too.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.engine: list[str] = []
        self.http: list[str] = []
        self.registry: list[str] = []
        self.sql: list[str] = []
        self.files: list[str] = []
        self._patch = pytest.MonkeyPatch()
        self._before: dict[str, tuple[int, int]] = {}

    def __enter__(self) -> Recorder:
        self._before = self._snapshot()
        engine_request, http_send, engine, http = (
            docker.api.client.APIClient.request,
            httpx.Client.send,
            self.engine,
            self.http,
        )

        def recorded_engine_request(client, method, url, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            engine.append(f"{method.upper()} {re.sub(r'^/v[0-9.]+/', '/', urlsplit(url).path)}")
            return engine_request(client, method, url, *args, **kwargs)

        def recorded_http_send(client, request, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            http.append(f"{request.method} {request.url.copy_with(query=None)}")
            return http_send(client, request, *args, **kwargs)

        self._patch.setattr(docker.api.client.APIClient, "request", recorded_engine_request)
        self._patch.setattr(httpx.Client, "send", recorded_http_send)
        for name, method in list(vars(Registry).items()):
            if inspect.isfunction(method) and not name.startswith("_"):
                self._patch.setattr(Registry, name, self._counted(name, method))
        sqlalchemy.event.listen(sqlalchemy.Engine, "before_cursor_execute", self._on_sql)
        return self

    def __exit__(self, *exc: object) -> None:
        sqlalchemy.event.remove(sqlalchemy.Engine, "before_cursor_execute", self._on_sql)
        self._patch.undo()
        after = self._snapshot()
        self.files = sorted(
            {f"{'changed' if p in after else 'removed'} {p}" for p in self._before if self._before[p] != after.get(p)}
            | {f"added {p}" for p in after.keys() - self._before}
        )

    def _counted(self, name: str, method):  # noqa: ANN001, ANN202
        calls = self.registry

        @functools.wraps(method)
        def counted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls.append(name)
            return method(*args, **kwargs)

        return counted

    def _on_sql(self, _conn, _cursor, statement: str, *_rest) -> None:  # noqa: ANN001
        self.sql.append(" ".join(statement.split()))

    def _snapshot(self) -> dict[str, tuple[int, int]]:
        out = {}
        for path in self.root.rglob("*"):
            if path.is_file() and not REGISTRY_DB_FILE.search(path.name):
                stat = path.stat()
                out[path.relative_to(self.root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return out

    def _split(self, want_writes: bool) -> dict[str, list[str]]:
        found = {
            "engine": [r for r in self.engine if (r.split(" ", 1)[0] not in HTTP_READS) == want_writes],
            "http": [r for r in self.http if (r.split(" ", 1)[0] not in HTTP_READS) == want_writes],
            "registry": [n for n in self.registry if (n not in REGISTRY_READS) == want_writes],
            "sql": [s for s in self.sql if _sql_kind(s) == ("write" if want_writes else "read")],
            "files": self.files if want_writes else [],
        }
        return {k: v for k, v in found.items() if v}

    def writes(self) -> dict[str, list[str]]:
        """{channel: the writes seen on it}, channels with none left out: {} when nothing was written."""
        return self._split(True)

    def reads(self) -> dict[str, list[str]]:
        return self._split(False)


def _sql_kind(statement: str) -> str:
    verb = statement.split(None, 1)[0].upper() if statement.strip() else ""
    if verb in SQL_CONTROL:
        return "control"
    if verb in SQL_READS and not (verb == "PRAGMA" and "=" in statement):
        return "read"
    if verb == "WITH" and not re.search(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", statement, re.IGNORECASE):
        return "read"
    return "write"


def scored(container) -> int:  # noqa: ANN001
    """How many /score requests a backend answered with 200 (its JSON access log, flushed every 0.2 s)."""
    lines = container.logs().decode(errors="replace").splitlines()
    return sum(1 for line in lines if '"/score"' in line and '"status":200' in line.replace(" ", ""))


def wait_for_scored(containers: list, total: int, timeout: float = 15) -> tuple[int, ...]:
    """scored() of each container, once their access logs show `total` answered requests in all."""
    last: list[int] = []

    def logged() -> tuple[int, ...] | None:
        last[:] = [scored(c) for c in containers]
        return tuple(last) if sum(last) >= total else None

    return wait_until(
        logged,
        timeout=timeout,
        interval=0.1,
        message=lambda _: f"the access logs show {total} answered /score requests; they show {last}",
    )


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
                    self.statuses.append(
                        client.post(self.url + "/score", json={"data": [[5.1, 3.5, 1.4, 0.2]]}).status_code
                    )
                except httpx.HTTPError as exc:
                    self.statuses.append(type(exc).__name__)

    def __enter__(self) -> "Hammer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
