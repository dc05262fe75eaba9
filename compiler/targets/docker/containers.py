"""Backend containers: run one deployment's image, non-root, limited, labelled; wait for health."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import docker
import httpx
from docker.errors import DockerException, NotFound
from docker.types import Mount

from ...errors import ApplyError
from ...names import default_keys_secret
from ...plan.target import DeployRequest, Progress
from ...render.quantities import memory_bytes, nano_cpus
from ...render.runtime_settings import runtime_settings
from . import labels as L
from . import names
from .engine import RESTART_UNLESS_STOPPED
from .secrets import ContainerSecrets, DeploymentSecrets
from .volumes import ensure_volume

DEFAULT_UID = "10001:10001"
COLLECT_DIR = "/var/lib/modelctl/collected"
LOG_TAIL = 20
READY_STREAK = 12


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def backends(client: docker.DockerClient, workspace: str, target: str, deployment: str) -> list[Any]:
    filters = L.managed_filter(
        workspace, **{L.ROLE: "backend", L.TARGET: target, L.RESOURCE: f"Deployment/{deployment}"}
    )
    return client.containers.list(all=True, filters=filters)


def backend_named(client: docker.DockerClient, workspace: str, target: str, deployment: str, name: str) -> Any | None:
    """The deployment's backend container called `name`, if its labels say it is one (never by name alone)."""
    return next((c for c in backends(client, workspace, target, deployment) if c.name == name), None)


def environment(req: DeployRequest, mounted: ContainerSecrets, resolved: DeploymentSecrets) -> dict[str, str]:
    """The runtime's settings (render.runtime_settings); secrets as paths of mounted files (validation
    keeps mtls off docker); a file sink writes into the collected-data volume at COLLECT_DIR."""
    spec = req.spec
    auth_ref = spec.auth.secret_ref or default_keys_secret(req.name)
    auth_files = {}
    if spec.auth.mode == "key":
        auth_files["keys"] = mounted.add("auth-keys", resolved.values[auth_ref])
    elif spec.auth.mode == "token":
        auth_files["token-secret"] = mounted.add("token-secret", resolved.values[auth_ref])
    user_env = {
        f"{var}_FILE": mounted.add(f"env-{var}", resolved.values[f"{ref.secret_ref}/{ref.key}"])
        for var, ref in sorted(spec.secret_env.items())
    }
    user_env.update(spec.env)
    return runtime_settings(spec, port=req.image_port, auth_files=auth_files, sink_dir=COLLECT_DIR, user_env=user_env)


def image_user(client: docker.DockerClient, ref: str) -> str:
    user = (client.api.inspect_image(ref).get("Config") or {}).get("User") or ""
    return DEFAULT_UID if user in ("", "root", "0", "0:0") else user


def backend_labels(req: DeployRequest, port: int, secret_digests: dict[str, str]) -> dict[str, str]:
    """How a backend is found again: workspace, resource, fingerprint, the spec it runs and digests of
    the secret values it started with (never a value)."""
    rollback = {L.ROLLBACK: json.dumps(req.rollback.to_json(), sort_keys=True)} if req.rollback else {}
    return rollback | {
        L.MANAGED_BY_KEY: L.MANAGED_BY,
        L.WORKSPACE: req.workspace,
        L.ROLE: "backend",
        L.SECRETS: json.dumps(secret_digests, sort_keys=True, separators=(",", ":")),
        L.RESOURCE: req.resource,
        L.TARGET: req.target_name,
        L.FINGERPRINT: req.fingerprint,
        L.IMAGE: req.image_name,
        L.IMAGE_REF: req.image_ref,
        L.BACKEND_PORT: str(port),
        L.SPEC: json.dumps(req.spec_json, sort_keys=True, separators=(",", ":")),
        L.PREVENT_DESTROY: str(req.spec.lifecycle.prevent_destroy).lower(),
        "app.kubernetes.io/name": req.name,
        "app.kubernetes.io/component": "scoring",
    }


def collected_volume_labels(workspace: str, target: str, deployment: str) -> dict[str, str]:
    return {
        L.MANAGED_BY_KEY: L.MANAGED_BY,
        L.WORKSPACE: workspace,
        L.TARGET: target,
        L.ROLE: "collected-data",
        L.RESOURCE: f"Deployment/{deployment}",
    }


def run_backend(
    client: docker.DockerClient, req: DeployRequest, name: str, resolved: DeploymentSecrets
) -> tuple[Any, int]:
    secrets = ContainerSecrets(req.root, name)
    env = environment(req, secrets, resolved)
    port = free_port()
    mounts = [Mount(target=inside, source=host, type="bind", read_only=True) for host, inside in secrets.mounts]
    volume = names.collected_volume(req.workspace, req.target_name, req.name)
    ensure_volume(client, volume, collected_volume_labels(req.workspace, req.target_name, req.name))
    mounts.append(Mount(target=COLLECT_DIR, source=volume, type="volume"))
    labels = backend_labels(req, port, resolved.digests)
    try:
        container = client.containers.run(
            req.image_ref,
            name=name,
            detach=True,
            environment=env,
            labels=labels,
            mounts=mounts,
            ports={f"{req.image_port}/tcp": ("127.0.0.1", port)},
            user=image_user(client, req.image_ref),
            nano_cpus=nano_cpus(req.spec.resources.cpu),
            mem_limit=memory_bytes(req.spec.resources.memory),
            restart_policy=RESTART_UNLESS_STOPPED,
            read_only=True,
            tmpfs={"/tmp": "rw,size=64m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )
    except DockerException as exc:
        if getattr(exc, "status_code", None) == 409:
            raise ApplyError(
                f"{req.resource}: a container named {name} exists that is not one of this deployment's "
                f"(its labels: {_owner(client, name)}); modelctl leaves it alone: rename or remove it",
                resource=req.resource,
            ) from None
        raise ApplyError(
            f"{req.resource}: could not start a container from {req.image_ref}: {exc}", resource=req.resource
        ) from None
    return container, port


def _owner(client: docker.DockerClient, name: str) -> str:
    try:
        return L.describe(client.containers.get(name).labels)
    except DockerException:
        return "unknown"


def gate_seconds(spec) -> float:  # noqa: ANN001
    """How long a new container may take to become ready: the readiness probe's budget, at least 60 s
    (loading a framework on a busy 2-core machine takes a while); a crash ends the wait at once."""
    r = spec.probes.readiness
    return max(60, r.initial_delay_seconds + r.period_seconds * r.failure_threshold + 15)


def wait_ready(container: Any, port: int, timeout: float, progress: Progress) -> tuple[bool, str]:
    """Poll /v2/health/ready until 200; stop early when the container exits. (ok, last failing check)."""
    url = f"http://127.0.0.1:{port}/v2/health/ready"
    deadline = time.monotonic() + timeout
    last = "GET /v2/health/ready: no answer yet"
    streak = 0
    # A fresh connection per probe: the server may run several workers, each loading its models;
    # only a streak of 200s on new connections shows that every worker is ready.
    with httpx.Client(timeout=2.0, limits=httpx.Limits(max_keepalive_connections=0)) as http:
        while time.monotonic() < deadline:
            try:
                resp = http.get(url)
                if resp.status_code == 200:
                    streak += 1
                    if streak >= READY_STREAK:
                        return True, ""
                    time.sleep(0.05)
                    continue
                streak = 0
                last = f"GET /v2/health/ready answered HTTP {resp.status_code}: {resp.text[:300].strip()}"
            except httpx.HTTPError as exc:
                streak = 0
                last = f"GET /v2/health/ready: {type(exc).__name__}"
            container.reload()
            state = container.attrs.get("State", {})
            if state.get("Status") in ("exited", "dead") or state.get("Restarting") or state.get("RestartCount", 0) > 0:
                return False, (
                    f"the container exited with code {state.get('ExitCode')} (restarts: {state.get('RestartCount', 0)})"
                )
            health = (state.get("Health") or {}).get("Status")
            if health == "unhealthy":
                return False, f"docker HEALTHCHECK reports unhealthy; {last}"
            progress("waiting for health")
            time.sleep(0.25)
    return False, f"{last} (gave up after {timeout:.0f} s)"


def last_logs(container: Any, lines: int = LOG_TAIL) -> str:
    try:
        return container.logs(tail=lines).decode(errors="replace").rstrip()
    except DockerException:
        return "(no logs)"


def remove(container: Any, *, stop_timeout: int = 10) -> None:
    try:
        container.stop(timeout=stop_timeout)
    except NotFound:
        return
    except DockerException:
        pass
    try:
        container.remove(force=True)
    except NotFound:
        pass
