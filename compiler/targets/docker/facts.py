"""Read-only facts from Docker engines: backend containers and router routes, by modelctl's labels."""

from __future__ import annotations

import json
import re
from typing import Any

from ...plan.state import ContainerFact, Wanted
from . import labels as L
from .engine import Engines
from .router import read_router

HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


class DockerReader:
    def __init__(self, engines: Engines) -> None:
        self.engines = engines

    def read(self, wanted: Wanted) -> dict[str, Any]:
        by_host: dict[str | None, list[tuple[str, Any]]] = {}
        for name, target in wanted.docker_targets:
            by_host.setdefault(target.host, []).append((name, target))
        containers: list[ContainerFact] = []
        routers = {}
        for host, targets in by_host.items():
            client = self.engines.get(host)
            names = {name for name, _ in targets}
            rows = client.api.containers(all=True, filters=L.managed_filter(wanted.workspace, **{L.ROLE: "backend"}))
            for row in rows:
                fact = _container(row)
                if fact and fact.target in names:
                    containers.append(fact)
            for name, target in targets:
                router = read_router(client, wanted.workspace, name, target.bind_address)
                if router is not None:
                    routers[name] = router
        return {"containers": tuple(sorted(containers, key=lambda c: (c.target, c.deployment, c.name))),
                "routers": routers}


def _container(row: dict) -> ContainerFact | None:
    labels = row.get("Labels") or {}
    resource = labels.get(L.RESOURCE, "")
    if not resource.startswith("Deployment/"):
        return None
    m = HEALTH.search(row.get("Status", ""))
    health = m.group(1).replace("health: ", "") if m else None
    port = labels.get(L.BACKEND_PORT)
    return ContainerFact(
        id=row["Id"], name=(row.get("Names") or ["/?"])[0].lstrip("/"), target=labels.get(L.TARGET, ""),
        deployment=resource.split("/", 1)[1], fingerprint=labels.get(L.FINGERPRINT, ""),
        image_ref=labels.get(L.IMAGE_REF, ""), state=row.get("State", ""), health=health,
        spec=labels.get(L.SPEC, ""), backend_port=int(port) if port and port.isdigit() else None,
        prevent_destroy=labels.get(L.PREVENT_DESTROY) == "true", secrets=_secrets(labels.get(L.SECRETS)))


def _secrets(label: str | None) -> tuple[tuple[str, str], ...] | None:
    if label is None:
        return None
    try:
        return tuple(sorted((str(k), str(v)) for k, v in json.loads(label).items()))
    except (ValueError, AttributeError):
        return ()
