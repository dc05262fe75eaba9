"""Run a verified edge bundle on the local Docker engine as a device's IoT Edge agent would: each
module created from its createOptions (user, read-only root, caps, limits, env, binds) on a private
network, the scorer waited for, asked one scoring request, and everything started removed again
(also on Ctrl-C or a failure).

What differs from a device, on purpose: secrets the device keeps under /etc/modelctl/secrets come from
the local secret store (a private copy, removed afterwards); named volumes get a per-run name; host
port bindings are dropped (the scorer is reached on the private network); a bind of any other host
path is refused, so a bundle cannot reach into this machine.
"""

from __future__ import annotations

import json
import os
import secrets as random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ...errors import ApplyError
from ...render.edge import HOST_SECRETS_DIR
from ...render.edge_limits import reassemble
from ..docker import secrets as secret_store
from ..docker.engine import connect

RUN_LABEL = "modelctl.io/simulation"
SECRET_REF = "$secret:"
Say = Callable[[str], None]


@dataclass
class Started:
    """Everything one simulation created, removed by `cleanup` whatever happened."""

    run: str
    containers: list[Any] = field(default_factory=list)
    volumes: list[Any] = field(default_factory=list)
    network: Any = None
    secrets_dir: Path | None = None


def resolve_reference(root: Path, value: str, what: str) -> str:
    """`$secret:NAME/KEY` (or `$secret:NAME`) from the local secret store; other values as they are."""
    if not value.startswith(SECRET_REF):
        return value
    name, _, key = value[len(SECRET_REF) :].partition("/")
    found = secret_store.lookup(root, name, key or None)
    if found is None:
        raise ApplyError(
            f"{what}: {value} is not in the local secret store "
            f"(set env {secret_store.env_name(name)} or the file .modelctl/secrets/{name}{'/' + key if key else ''})"
        )
    return found.strip("\n")


def registry_auth(root: Path, manifest: dict) -> dict[str, dict[str, str]]:
    """Registry host → docker auth config, from runtime.settings.registryCredentials (references resolved)."""
    agent = manifest["content"]["modulesContent"].get("$edgeAgent", {}).get("properties.desired") or {}
    creds = ((agent.get("runtime") or {}).get("settings") or {}).get("registryCredentials") or {}
    return {
        c["address"]: {
            "username": resolve_reference(root, c["username"], f"registryCredentials.{name}.username"),
            "password": resolve_reference(root, c["password"], f"registryCredentials.{name}.password"),
        }
        for name, c in sorted(creds.items())
    }


class Simulation:
    def __init__(self, root: Path, workspace: str, say: Say, docker_host: str | None = None) -> None:
        self.root, self.workspace, self.say = Path(root).resolve(), workspace, say
        self.client = connect(docker_host)
        self.started = Started(random.token_hex(4))
        self._wanted_keys: dict[str, set[str]] = {}  # secret mount → the files it must hold
        self._mounted: dict[str, tuple[Path, set[str]]] = {}  # secret mount → (this run's copy, files)

    @property
    def prefix(self) -> str:
        return f"modelctl-sim-{self.started.run}"

    def labels(self) -> dict[str, str]:
        return {
            "app.kubernetes.io/managed-by": "modelctl",
            "modelctl.io/workspace": self.workspace,
            RUN_LABEL: self.started.run,
        }

    # --- start ----------------------------------------------------------------------------------

    def start(self, modules: dict[str, dict], auth: dict[str, dict[str, str]]) -> dict[str, Any]:
        """Create and start every module (startupOrder, then name); returns module → container."""
        self.started.network = self.client.networks.create(self.prefix, driver="bridge", labels=self.labels())
        self.say(f"network {self.prefix} (private bridge)")
        out = {}
        order = sorted(modules.items(), key=lambda kv: (int(kv[1].get("startupOrder", 4294967295)), kv[0]))
        for name, module in order:
            out[name] = self._start_module(name, module, auth)
        return out

    def _start_module(self, name: str, module: dict, auth: dict[str, dict[str, str]]) -> Any:
        settings = module.get("settings") or {}
        image = str(settings.get("image", ""))
        text = reassemble(settings) or "{}"
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise ApplyError(f"module {name}: createOptions is not JSON ({exc})") from None
        self._ensure_image(name, image, auth)
        env = [
            f"{k}={resolve_reference(self.root, str(v.get('value', '')), f'module {name} env {k}')}"
            for k, v in sorted((module.get("env") or {}).items())
        ]
        host = dict(body.get("HostConfig") or {})
        host["Binds"] = [self._bind(name, b) for b in host.get("Binds") or []]
        if host.get("PortBindings"):
            self.say(
                f"module {name}: host port bindings {sorted(host['PortBindings'])} left out (reached on the private network)"
            )
            host.pop("PortBindings")
        host["NetworkMode"] = self.prefix
        host["RestartPolicy"] = {"Name": "no"}
        body.update(
            Image=image,
            Env=[*(body.get("Env") or []), *env],
            Labels={**(body.get("Labels") or {}), **self.labels()},
            HostConfig=host,
            NetworkingConfig={"EndpointsConfig": {self.prefix: {"Aliases": [name]}}},
        )
        created = self.client.api.create_container_from_config(body, name=f"{self.prefix}-{name}")
        container = self.client.containers.get(created["Id"])
        self.started.containers.append(container)
        container.start()
        self.say(f"module {name}: {image} started as {container.name} ({_describe(body)})")
        return container

    def _ensure_image(self, module: str, image: str, auth: dict[str, dict[str, str]]) -> None:
        import docker.errors

        try:
            self.client.images.get(image)
            return
        except docker.errors.ImageNotFound:
            pass
        host = image.split("/", 1)[0]
        self.say(f"module {module}: pulling {image}")
        try:
            self.client.images.pull(image, auth_config=auth.get(host))
        except docker.errors.APIError as exc:
            raise ApplyError(f"module {module}: cannot pull {image} ({exc.explanation or exc})") from None

    def _bind(self, module: str, bind: str) -> str:
        source, _, rest = bind.partition(":")
        if source.startswith(HOST_SECRETS_DIR + "/"):
            return f"{self._secret_folder(module, source[len(HOST_SECRETS_DIR) + 1 :], rest)}:{rest}"
        if not source.startswith("/"):  # a named volume: a fresh one for this run
            volume = self.client.volumes.create(f"{self.prefix}-{source}", labels=self.labels())
            self.started.volumes.append(volume)
            return f"{volume.name}:{rest}"
        raise ApplyError(
            f"module {module}: binds host path {source}; devices simulate binds only the device's secrets "
            f"({HOST_SECRETS_DIR}/…) and named volumes"
        )

    def _secret_folder(self, module: str, name: str, rest: str) -> Path:
        """The device's /etc/modelctl/secrets/<name>/ from the local store: each file the module's env
        names under the bind's target, a private copy (folder 0700 above, files 0444)."""
        inside = rest.split(":", 1)[0].rstrip("/")
        base = self.root / ".modelctl" / "run" / self.prefix
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o700)
        self.started.secrets_dir = base
        folder = base / name
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o755)
        self._wanted_keys.setdefault(inside, set())
        for key in sorted(self._wanted_keys[inside]):
            value = secret_store.lookup(self.root, name, key) or secret_store.lookup(self.root, name)
            if value is None:
                raise ApplyError(
                    f"module {module}: secret '{name}' (key {key}) is not in the local secret store "
                    f"(set env {secret_store.env_name(name)} or the file .modelctl/secrets/{name})"
                )
            path = folder / key
            path.write_text(value, encoding="utf-8")
            os.chmod(path, 0o444)
        self._mounted[inside] = (folder, self._wanted_keys[inside])
        return folder

    def want_secret_files(self, modules: dict[str, dict]) -> None:
        """Which files each secret folder must hold: the env values that point inside its mount."""
        wanted: dict[str, set[str]] = {}
        for module in modules.values():
            body = json.loads(reassemble(module.get("settings") or {}) or "{}")
            values = [str(v.get("value", "")) for v in (module.get("env") or {}).values()]
            for bind in (body.get("HostConfig") or {}).get("Binds") or []:
                inside = bind.split(":")[1].rstrip("/")
                wanted.setdefault(inside, set()).update(
                    v[len(inside) + 1 :]
                    for v in values
                    if v.startswith(inside + "/") and "/" not in v[len(inside) + 1 :]
                )
        self._wanted_keys = wanted

    def secret_file_value(self, inside: str) -> str | None:
        """The value a module reads at `inside` (a file of a secret mount), from this run's copy."""
        for mount, (folder, _keys) in self._mounted.items():
            if inside.startswith(mount + "/"):
                path = folder / inside[len(mount) + 1 :]
                return path.read_text(encoding="utf-8") if path.is_file() else None
        return None

    # --- health and scoring -----------------------------------------------------------------------

    def address(self, container: Any) -> str:
        container.reload()
        ip = container.attrs["NetworkSettings"]["Networks"][self.prefix]["IPAddress"]
        ports = sorted(container.attrs["Config"].get("ExposedPorts") or {})
        if not ports:
            raise ApplyError(f"{container.name} exposes no port to score on")
        return f"http://{ip}:{ports[0].split('/')[0]}"

    def wait_ready(self, container: Any, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                try:
                    resp = http.get(f"{url}/v2/health/ready")
                    if resp.status_code == 200:
                        return
                    last = f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                container.reload()
                if container.status in ("exited", "dead"):
                    logs = container.logs(tail=20).decode("utf-8", "replace").strip()
                    raise ApplyError(
                        f"{container.name} exited with code {container.attrs['State'].get('ExitCode')}:\n{logs}"
                    )
                time.sleep(0.5)
        raise ApplyError(f"{container.name} was not ready within {timeout:.0f}s (GET /v2/health/ready: {last})")

    # --- stop ---------------------------------------------------------------------------------------

    def cleanup(self) -> list[str]:
        """Remove everything this run started; returns what could not be removed (said, never raised)."""
        left: list[str] = []
        try:  # also one created just before an interrupt, before it was recorded
            labelled = self.client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={self.started.run}"})
        except Exception:  # noqa: BLE001 - the engine went away: remove what is recorded
            labelled = []
        known = {c.id for c in self.started.containers}
        self.started.containers += [c for c in labelled if c.id not in known]
        for container in reversed(self.started.containers):
            try:
                container.remove(force=True, v=True)
            except Exception as exc:  # noqa: BLE001 - go on removing the rest
                left.append(f"container {container.name}: {exc}")
        if self.started.network is not None:
            try:
                self.started.network.remove()
            except Exception as exc:  # noqa: BLE001
                left.append(f"network {self.prefix}: {exc}")
        for volume in self.started.volumes:
            try:
                volume.remove(force=True)
            except Exception as exc:  # noqa: BLE001
                left.append(f"volume {volume.name}: {exc}")
        if self.started.secrets_dir is not None:
            shutil.rmtree(self.started.secrets_dir, ignore_errors=True)
        self.client.close()
        return left


def _describe(body: dict) -> str:
    host = body.get("HostConfig") or {}
    parts = [f"user {body.get('User') or 'image default'}"]
    if host.get("ReadonlyRootfs"):
        parts.append("read-only root")
    if host.get("CapDrop"):
        parts.append(f"cap-drop {','.join(host['CapDrop'])}")
    if host.get("Memory"):
        parts.append(f"memory {int(host['Memory']) // (1024 * 1024)}Mi")
    if host.get("NanoCpus"):
        parts.append(f"cpus {int(host['NanoCpus']) / 1e9:g}")
    parts.append(f"{len(host.get('Binds') or [])} binds")
    return ", ".join(parts)
