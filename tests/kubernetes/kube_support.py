"""A real Kubernetes control plane for the kubernetes target's tests, and what a kubelet would do.

`find_control_plane()` looks where envtest looks: `KUBEBUILDER_ASSETS` (a folder holding
kube-apiserver, etcd, and here also kube-controller-manager and kube-scheduler: rollouts need the
controllers), else `<repo>/../shared/k8s` (cluster.sh and its binaries). `MODELCTL_TEST_KUBECONFIG`
points the tests at any running cluster instead (then no audit log: the tests that count requests
skip). `start_cluster()` runs cluster.sh on free ports in a fresh folder; `apply_crds()` installs the
Gateway API CRDs server-side.

`KubeletStandIn` is a background thread that, through the API, registers a Node with capacity,
keeps its Ready heartbeat fresh and sets the status of every Pod bound to it: Running/Ready, or for
the pods a test chooses CrashLoopBackOff / never Ready — so rollouts progress or stall exactly as
the real controllers decide. `AuditLog` reads the API server's audit log (one JSON event a line).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from testkit import wait_until

REPO = Path(__file__).resolve().parents[2]
TEST_AGENT = "modelctl-tests"
MODELCTL_AGENT = "modelctl/"
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


def find_control_plane(env: Any = os.environ) -> tuple[Path | None, Path | None, str]:
    """(cluster.sh, binaries folder or None, why not found)."""
    shared = Path(env.get("MODELCTL_K8S_SHARED") or REPO.parent / "shared" / "k8s")
    script = shared / "cluster.sh"
    assets = env.get("KUBEBUILDER_ASSETS")
    if assets:
        folder = Path(assets)
        missing = [
            b
            for b in ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler")
            if not (folder / b).exists()
        ]
        if missing:
            return None, None, f"KUBEBUILDER_ASSETS={folder} lacks {', '.join(missing)}"
        if not script.is_file():
            return None, None, f"no cluster.sh at {script} to start the binaries of KUBEBUILDER_ASSETS"
        return script, folder, ""
    if not script.is_file():
        return (
            None,
            None,
            f"no control plane: {script} is missing, KUBEBUILDER_ASSETS and MODELCTL_TEST_KUBECONFIG unset",
        )
    return script, None, ""


def _free_port_pair() -> int:
    """A port p with p and p+1 free (etcd's client and peer ports)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port > 65000:
            continue
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ControlPlane:
    kubeconfig: Path
    audit_log: Path | None
    folder: Path | None = None
    script: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def api(self, agent: str = TEST_AGENT) -> Any:
        from kubernetes import config

        api = config.new_client_from_config(config_file=str(self.kubeconfig))
        api.user_agent = agent
        return api

    def stop(self) -> None:
        if self.script and self.folder:
            subprocess.run(
                ["bash", str(self.script), "down", str(self.folder)], env=self.env, capture_output=True, timeout=120
            )


def start_cluster(script: Path, assets: Path | None, folder: Path) -> ControlPlane:
    env = dict(os.environ)
    env["ETCD_PORT"] = str(_free_port_pair())
    env["K8S_PORT"] = str(_free_port())
    if assets is not None:
        env["K8S_BIN"] = str(assets)
        env["PATH"] = f"{assets}{os.pathsep}{env.get('PATH', '')}"  # its etcd first
    cluster = ControlPlane(folder / "kubeconfig", folder / "audit.log", folder, script, env)
    done = subprocess.run(
        ["bash", str(script), "up", str(folder)], env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        cluster.stop()
        tail = "\n".join((done.stderr or done.stdout).splitlines()[-15:])
        raise RuntimeError(f"cluster.sh up failed ({done.returncode}):\n{tail}")
    return cluster


# --- raw API calls (the official client's transport) ----------------------------------------------


def call(
    api: Any, method: str, path: str, body: Any = None, *, query: list | None = None, ctype: str | None = None
) -> tuple[int, Any]:
    headers = {"Accept": "application/json"}
    if ctype:
        headers["Content-Type"] = ctype
    params = api.param_serialize(
        method, path, query_params=query or [], header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = api.call_api(*params, _request_timeout=(5, 60))
    response.read()
    return int(response.status), json.loads(response.data) if response.data else None


def ok(result: tuple[int, Any]) -> Any:
    status, data = result
    assert 200 <= status < 300, f"{status}: {data}"
    return data


def apply_crds(api: Any, folder: Path) -> None:
    """The Gateway API CRDs, server-side applied, then established."""
    import yaml

    names = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            name = doc["metadata"]["name"]
            names.append(name)
            ok(
                call(
                    api,
                    "PATCH",
                    f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
                    doc,
                    query=[("fieldManager", "modelctl-tests"), ("force", "true")],
                    ctype="application/apply-patch+yaml",
                )
            )

    def established() -> bool:
        for name in names:
            crd = ok(call(api, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"))
            conds = {c["type"]: c["status"] for c in (crd.get("status") or {}).get("conditions") or []}  # null at first
            if conds.get("Established") != "True":
                return False
        return True

    wait_until(established, timeout=60, message="the Gateway API CRDs are established")


def create_namespace(api: Any, name: str) -> None:
    ok(call(api, "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))


# --- a kubelet, through the API --------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubeletStandIn(threading.Thread):
    """Registers a Node and plays its kubelet: heartbeats, and pod statuses (ready, or failing)."""

    def __init__(self, cluster: ControlPlane, node: str = "standin-1", interval: float = 0.25) -> None:
        super().__init__(name=f"kubelet-{node}", daemon=True)
        self.cluster, self.node, self.interval = cluster, node, interval
        self.failing: list[tuple[Callable[[dict[str, Any]], bool], str]] = []  # (which pods, "crash" | "never-ready")
        self._halt = threading.Event()
        self._seen: dict[str, str] = {}  # pod uid → the mode last written
        self.errors: list[str] = []

    def fail(self, match: str | Callable[[dict[str, Any]], bool], mode: str = "crash") -> None:
        """Pods that `match` (a substring of their first image, or a predicate on the pod) fail."""
        if isinstance(match, str):
            part = match
            self.failing.append(
                (lambda pod: part in str((pod["spec"]["containers"] or [{}])[0].get("image", "")), mode)
            )
        else:
            self.failing.append((match, mode))

    def heal(self) -> None:
        self.failing.clear()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def register(self, api: Any) -> None:
        capacity = {"cpu": "64", "memory": "256Gi", "pods": "250", "ephemeral-storage": "500Gi"}
        status, _ = call(
            api,
            "POST",
            "/api/v1/nodes",
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": self.node,
                    "labels": {
                        "kubernetes.io/hostname": self.node,
                        "kubernetes.io/os": "linux",
                        "kubernetes.io/arch": "amd64",
                    },
                },
            },
        )
        assert status in (201, 409), status
        self._heartbeat(api, capacity)

        def schedulable() -> bool:
            node = ok(call(api, "GET", f"/api/v1/nodes/{self.node}"))
            return not [
                t for t in node.get("spec", {}).get("taints") or [] if t.get("effect") in ("NoSchedule", "NoExecute")
            ]

        wait_until(schedulable, timeout=60, message=f"node {self.node} is Ready without taints")

    def _heartbeat(self, api: Any, capacity: dict[str, str] | None = None) -> None:
        now = _now()
        status: dict[str, Any] = {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "stand-in kubelet",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                },
                *(
                    {
                        "type": t,
                        "status": "False",
                        "reason": "KubeletHasSufficient",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    }
                    for t in ("MemoryPressure", "DiskPressure", "PIDPressure")
                ),
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": self.node}],
            "nodeInfo": {
                "kubeletVersion": "v1.24.0",
                "containerRuntimeVersion": "stand-in://0",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "stand-in",
                "kernelVersion": "0",
                "kubeProxyVersion": "v1.24.0",
                "machineID": "x",
                "systemUUID": "x",
                "bootID": "x",
            },
        }
        if capacity:
            status["capacity"] = capacity
            status["allocatable"] = capacity
        ok(
            call(
                api,
                "PATCH",
                f"/api/v1/nodes/{self.node}/status",
                {"status": status},
                ctype="application/merge-patch+json",
            )
        )

    def _mode(self, pod: dict[str, Any]) -> str:
        for match, mode in list(self.failing):
            if match(pod):
                return mode
        return "ready"

    def _pod_status(self, pod: dict[str, Any], mode: str, n: int) -> dict[str, Any]:
        now = _now()
        ready = "True" if mode == "ready" else "False"
        conds = [{"type": t, "status": "True", "lastTransitionTime": now} for t in ("PodScheduled", "Initialized")]
        extra = (
            {}
            if mode == "ready"
            else {"reason": "ContainersNotReady", "message": "containers with unready status: [scorer]"}
        )
        conds += [
            {"type": t, "status": ready, "lastTransitionTime": now, **extra} for t in ("ContainersReady", "Ready")
        ]
        statuses = []
        for c in pod.get("spec", {}).get("containers") or []:
            if mode == "crash":
                state = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 10s restarting failed container={c['name']}",
                    }
                }
                last = {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}}
                statuses.append(
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": False,
                        "started": False,
                        "restartCount": 3,
                        "state": state,
                        "lastState": last,
                    }
                )
            else:
                statuses.append(
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": mode == "ready",
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": now}},
                    }
                )
        ip = f"10.244.{n // 250}.{n % 250 + 2}"
        return {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": now,
            "conditions": conds,
            "containerStatuses": statuses,
        }

    def _event(self, api: Any, pod: dict[str, Any], reason: str, message: str) -> None:
        """A Warning event about the pod, as the kubelet records one (what `kubectl describe` shows)."""
        meta, now = pod["metadata"], _now()
        call(
            api,
            "POST",
            f"/api/v1/namespaces/{meta['namespace']}/events",
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"{meta['name']}.{time.monotonic_ns()}", "namespace": meta["namespace"]},
                "involvedObject": {
                    "kind": "Pod",
                    "name": meta["name"],
                    "namespace": meta["namespace"],
                    "uid": meta["uid"],
                    "apiVersion": "v1",
                },
                "reason": reason,
                "message": message,
                "type": "Warning",
                "source": {"component": "kubelet", "host": self.node},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
            },
        )

    def run(self) -> None:
        api = self.cluster.api(f"{TEST_AGENT}/kubelet")
        last_beat = 0.0
        count = 0
        try:
            while not self._halt.is_set():
                try:
                    if time.monotonic() - last_beat > 5:
                        self._heartbeat(api)
                        last_beat = time.monotonic()
                    _, pods = call(api, "GET", "/api/v1/pods", query=[("fieldSelector", f"spec.nodeName={self.node}")])
                    for pod in (pods or {}).get("items") or []:
                        meta = pod["metadata"]
                        if meta.get("deletionTimestamp"):
                            continue
                        mode = self._mode(pod)
                        if self._seen.get(meta["uid"]) == mode:
                            continue
                        count += 1
                        status, _ = call(
                            api,
                            "PATCH",
                            f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status",
                            {"status": self._pod_status(pod, mode, count)},
                            ctype="application/merge-patch+json",
                        )
                        if 200 <= status < 300:
                            self._seen[meta["uid"]] = mode
                            if mode == "crash":
                                self._event(api, pod, "BackOff", "Back-off restarting failed container")
                except Exception as exc:  # noqa: BLE001 - keep playing the kubelet; tests see the errors
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                self._halt.wait(self.interval)
        finally:
            api.close()


# --- the audit log ---------------------------------------------------------------------------------


class AuditLog:
    """The API server's audit log: every request once it completes."""

    def __init__(self, path: Path, api: Any) -> None:
        self.path, self.api = path, api

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        """Events from byte offset `since`, after a sentinel request shows the log caught up."""
        sentinel = f"audit-sentinel-{time.monotonic_ns()}"
        call(self.api, "GET", f"/api/v1/namespaces/{sentinel}")

        def read() -> list[dict[str, Any]] | None:
            with self.path.open("rb") as f:
                f.seek(since)
                lines = f.read().splitlines()
            events = [json.loads(line) for line in lines if line.strip()]
            return events if any(sentinel in e.get("requestURI", "") for e in events) else None

        return wait_until(read, timeout=20, message="the audit log records the sentinel request")

    def by_modelctl(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.events(since) if str(e.get("userAgent", "")).startswith(MODELCTL_AGENT)]

    @staticmethod
    def writes(events: list[dict[str, Any]]) -> list[str]:
        return [f"{e['verb']} {e['requestURI']}" for e in events if e.get("verb") in WRITES]


def audit_or_skip(cluster: ControlPlane, skip: Callable[[str], None]) -> None:
    if cluster.audit_log is None:
        skip("MODELCTL_TEST_KUBECONFIG names a cluster without an audit log this test can read")


# --- a small repo with a kubernetes target -------------------------------------------------------

WORKSPACE = """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata: {{name: {name}}}
spec:
  targets:
    prod: {{type: kubernetes, kubeconfig: {kubeconfig}, context: test, namespace: {namespace}}}
"""

MODEL = """\
apiVersion: modelctl.io/v1
kind: Model
metadata: {name: iris}
spec: {framework: custom, path: artifacts/iris.bin}
"""

IMAGE = """\
apiVersion: modelctl.io/v1
kind: Image
metadata: {name: scorer}
spec: {models: [iris], environment: curated/sklearn, scoring: {script: score/score.py}}
"""

DEPLOYMENT = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  image: scorer
  target: prod
  replicas: {replicas}
  resources: {{cpu: {cpu}, memory: 128Mi}}
  auth: {{mode: none}}
{extra}"""


@dataclass
class KubeRepo:
    """A workspace whose kubernetes target is the test cluster; its image registered as if built."""

    root: Path
    name: str
    namespace: str
    cluster: ControlPlane

    @classmethod
    def create(cls, root: Path, cluster: ControlPlane, namespace: str) -> KubeRepo:
        import uuid

        repo = cls(root, "k" + uuid.uuid4().hex[:8], namespace, cluster)
        repo.write(
            "modelctl.yaml", WORKSPACE.format(name=repo.name, kubeconfig=cluster.kubeconfig, namespace=namespace)
        )
        repo.write("models/iris.yaml", MODEL)
        repo.write("images/scorer.yaml", IMAGE)
        repo.write("artifacts/iris.bin", "iris v1")
        repo.write("score/score.py", "def init():\n    pass\n\ndef run(data):\n    return data\n")
        return repo

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def deployment(self, name: str, replicas: int = 2, cpu: str = "100m", extra: str = "") -> None:
        self.write(f"deployments/{name}.yaml", DEPLOYMENT.format(name=name, replicas=replicas, cpu=cpu, extra=extra))

    def register_image(self) -> None:
        """The registry holds the model and an image with git's fingerprint: apply builds nothing."""
        from compiler.graph import ImageNode
        from compiler.plan.refs import image_reference
        from compiler.workflow import Session

        with Session.open(self.root, writable=True) as s:
            s.writable()
            reg = s.registry
            assert reg is not None
            model = s.graph.get("Model/iris")
            reg.register_model("iris", self.root / "artifacts/iris.bin", framework="custom")
            image = s.graph.get_as("Image/scorer", ImageNode)
            ref = image_reference(s.graph, image)
            reg.register_image(
                "scorer",
                fingerprint=image.fingerprint,
                models=[("iris", 1)],
                environment="curated/sklearn",
                image_ref=ref.split(":")[0] + "@sha256:" + "c" * 64,
            )
            assert model is not None

    def plan(self, scope: Any = None) -> Any:
        from compiler.plan.model import Scope
        from compiler.workflow import Session

        with Session.open(self.root, scope or Scope()) as s:
            return s.plan()

    def apply(self, scope: Any = None, **options: Any) -> Any:
        """`modelctl apply --auto-approve` in-process (the real apply_repo): (plan, outcome or None)."""
        from compiler.plan.model import Scope
        from compiler.workflow import apply_repo

        run = apply_repo(self.root, scope or Scope(), allow_dirty=True, **options)
        assert not run.cancelled
        return run.plan, run.outcome
