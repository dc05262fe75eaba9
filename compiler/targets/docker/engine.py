"""Connecting to a Docker engine, with errors a user can act on."""

from __future__ import annotations

import os
from typing import Any

import docker
from docker.errors import DockerException

from ...errors import ApplyError
from ...spec.workspace import DockerTarget, Target


class EngineUnreachable(ApplyError):
    pass


# `containers.run(restart_policy=...)`: the engine takes "unless-stopped", but the types-docker stubs type the
# policy as a TypedDict whose Name is only "always" | "on-failure". Typed Any so the rest of each call stays checked.
RESTART_UNLESS_STOPPED: Any = {"Name": "unless-stopped"}


def docker_settings(target: Target) -> DockerTarget:
    """A docker target's settings: the registry of target types hands this type only its own targets."""
    if not isinstance(target, DockerTarget):
        raise TypeError(f"a {target.type} target given to the docker target type")
    return target


def connect(host: str | None = None, timeout: int = 120) -> docker.DockerClient:
    """A client for `host` (DOCKER_HOST or the default socket when None), checked with a ping."""
    where = host or (
        f"DOCKER_HOST={os.environ['DOCKER_HOST']}" if os.environ.get("DOCKER_HOST") else "the default socket"
    )
    try:
        client = docker.DockerClient(base_url=host, timeout=timeout) if host else docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise EngineUnreachable(
            f"the Docker engine at {where} is unreachable ({_short(exc)}). Start it (e.g. "
            "'bash scripts/services.sh up' or 'systemctl start docker'), set DOCKER_HOST, or leave docker "
            "targets out of the plan with --targets"
        ) from None
    return client


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


class Engines:
    """One client per engine address, shared by reader and adapter within one command."""

    def __init__(self) -> None:
        self._clients: dict[str | None, docker.DockerClient] = {}

    def get(self, host: str | None) -> docker.DockerClient:
        if host not in self._clients:
            self._clients[host] = connect(host)
        return self._clients[host]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
