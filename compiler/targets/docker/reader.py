"""Reading a docker target's facts: one container listing per engine and one router read per target."""

from __future__ import annotations

import json
import re

from ...plan.target import FactsRequest, RollbackMark
from ...spec.workspace import DockerTarget
from . import labels as L
from . import names
from .engine import Engines, docker_settings
from .facts import ContainerFact, DockerFacts
from .router import read_router
from .secret_refs import secret_refs
from .secrets import current_digests

HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")


def read_docker_facts(engines: Engines, request: FactsRequest) -> dict[str, DockerFacts]:
    """One container listing per engine (by modelctl's labels), one router read per target, and the
    current digests of the secrets the deployments in scope use."""
    by_host: dict[str | None, list[tuple[str, DockerTarget]]] = {}
    for name, settings in request.targets:
        target = docker_settings(settings)
        by_host.setdefault(target.host, []).append((name, target))
    out: dict[str, DockerFacts] = {}
    for host, targets in by_host.items():
        client = engines.get(host)
        rows = client.api.containers(all=True, filters=L.managed_filter(request.workspace, **{L.ROLE: "backend"}))
        containers: dict[str, list[ContainerFact]] = {name: [] for name, _ in targets}
        for row in rows:
            fact = _container(row, request.workspace)
            if fact and fact.target in containers:
                containers[fact.target].append(fact)
        for name, target in targets:
            router = read_router(client, request.workspace, name, target.bind_address)
            refs = [ref for d in request.deployments if d.target_name == name for ref in secret_refs(d.name, d.spec)]
            out[name] = DockerFacts(
                tuple(sorted(containers[name], key=lambda c: (c.deployment, c.name))),
                router,
                current_digests(request.root, request.workspace, refs),
            )
    return out


def _container(row: dict, workspace: str) -> ContainerFact | None:
    labels = row.get("Labels") or {}
    resource = labels.get(L.RESOURCE, "")
    if not resource.startswith("Deployment/") or not L.owned_by(labels, workspace, **{L.ROLE: "backend"}):
        return None
    m = HEALTH.search(row.get("Status", ""))
    health = m.group(1).replace("health: ", "") if m else None
    port = labels.get(L.BACKEND_PORT)
    name, target, deployment = (
        (row.get("Names") or ["/?"])[0].lstrip("/"),
        labels.get(L.TARGET, ""),
        resource.split("/", 1)[1],
    )
    renamed = not names.is_backend(name, workspace, target, deployment)  # an earlier version's name
    return ContainerFact(
        id=row["Id"],
        name=name,
        target=target,
        renamed=renamed,
        deployment=deployment,
        fingerprint=labels.get(L.FINGERPRINT, ""),
        image_ref=labels.get(L.IMAGE_REF, ""),
        state=row.get("State", ""),
        health=health,
        spec=labels.get(L.SPEC, ""),
        backend_port=int(port) if port and port.isdigit() else None,
        prevent_destroy=labels.get(L.PREVENT_DESTROY) == "true",
        secrets=_secrets(labels.get(L.SECRETS)),
        rollback=_rollback(labels.get(L.ROLLBACK), labels.get(L.FINGERPRINT, "")),
    )


def _rollback(label: str | None, fingerprint: str) -> RollbackMark | None:
    try:
        mark = RollbackMark.from_json(json.loads(label)) if label else None
    except ValueError:
        return None
    return mark if mark is not None and mark.to_fingerprint == fingerprint else None


def _secrets(label: str | None) -> tuple[tuple[str, str], ...] | None:
    if label is None:
        return None
    try:
        return tuple(sorted((str(k), str(v)) for k, v in json.loads(label).items()))
    except (ValueError, AttributeError):
        return ()
