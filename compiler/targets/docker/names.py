"""Every name modelctl gives an object on a Docker engine, in one place.

Names are injective over (workspace, target, deployment): no two triples share a name. Workspace,
target and deployment names are DNS-1123 labels (`[a-z0-9-]`, `compiler/spec/common.py`), so `_`
never occurs inside one, and joining the parts with `_` is unambiguous — `parse` reads every name
back into its parts. (Joined with `-`, workspace `probe` + target `kill-local` and workspace
`probe-kill` + target `local` both gave `modelctl-probe-kill-local-router`.)

| object | name |
|---|---|
| backend container (replica n ≥ 2, secret revision) | `modelctl_<ws>_<target>_<deployment>_<fp12>[_s<rev>][_<n>]` |
| router container | `modelctl_<ws>_<target>_router` |
| router's route files (volume) | `modelctl_<ws>_<target>_routes` |
| collected data (volume) | `modelctl_<ws>_<target>_<deployment>_collected` |

The router image (`modelctl/router:<digest>`) is named by its content, not per workspace: equal
images are one image. There are no networks (the router uses the host's). Secret copies live under
the repo's `.modelctl/run/<container name>/`.

A name is never the proof that an object is ours: every read, change and delete also checks the
object's labels (workspace, target, role; see `labels.py`), and objects with names of an earlier
version are found by their labels (`is_backend` / `is_router` tell whether a name is this
version's).
"""

from __future__ import annotations

import re

from ...spec.common import NAME_PATTERN

PREFIX = "modelctl"
SEP = "_"  # never in a workspace, target or deployment name
ROUTER = "router"
ROUTES = "routes"
COLLECTED = "collected"
FP_LEN = 12
REVISION = re.compile(r"^s[0-9a-f]+$")
REPLICA = re.compile(r"^[1-9][0-9]*$")
_NAME = re.compile(NAME_PATTERN)
_FP = re.compile(rf"^[0-9a-f]{{{FP_LEN}}}$")


def _join(*parts: str) -> str:
    for part in parts:
        if not _NAME.match(part):
            raise ValueError(f"not a workspace, target or deployment name: {part!r}")
    return SEP.join((PREFIX, *parts))


def backend(
    workspace: str, target: str, deployment: str, fingerprint: str, replica: int = 1, revision: str = ""
) -> str:
    """`modelctl_<ws>_<target>_<deployment>_<fp12>[_s<revision>]`, plus `_<n>` for replica n ≥ 2."""
    fp = fingerprint[:FP_LEN]
    if not _FP.match(fp):
        raise ValueError(f"not a fingerprint: {fingerprint!r}")
    if revision and not REVISION.match("s" + revision):
        raise ValueError(f"not a secrets revision: {revision!r}")
    if replica < 1:
        raise ValueError(f"replicas count from 1: {replica}")
    name = SEP.join((_join(workspace, target, deployment), fp) + ((f"s{revision}",) if revision else ()))
    return name if replica == 1 else f"{name}{SEP}{replica}"


def backends(
    workspace: str, target: str, deployment: str, fingerprint: str, replicas: int, revision: str = ""
) -> list[str]:
    """The containers of one roll-out: replica 1 … `replicas`."""
    return [backend(workspace, target, deployment, fingerprint, i, revision) for i in range(1, max(replicas, 1) + 1)]


def backend_prefix(workspace: str, target: str, deployment: str) -> str:
    """What every backend name of the deployment starts with."""
    return _join(workspace, target, deployment) + SEP


def router(workspace: str, target: str) -> str:
    """The router container of a (workspace, target): `modelctl_<ws>_<target>_router`."""
    return SEP.join((_join(workspace, target), ROUTER))


def routes_volume(workspace: str, target: str) -> str:
    """The volume the router's route files live in (its root file system is read-only)."""
    return SEP.join((_join(workspace, target), ROUTES))


def collected_volume(workspace: str, target: str, deployment: str) -> str:
    """The volume a deployment's collected data lands in, kept across blue/green swaps."""
    return SEP.join((_join(workspace, target, deployment), COLLECTED))


def parse(name: str) -> tuple[str, ...] | None:
    """The parts a name was made of, None for a name this module does not make:
    ("backend", ws, target, deployment, fp12, revision, replica) | ("router", ws, target) |
    ("routes", ws, target) | ("collected", ws, target, deployment)."""
    parts = name.split(SEP)
    if parts[0] != PREFIX or len(parts) < 4 or not all(_NAME.match(p) for p in parts[1:3]):
        return None
    ws, target = parts[1], parts[2]
    if len(parts) == 4 and parts[3] in (ROUTER, ROUTES):
        return (parts[3], ws, target)
    if not _NAME.match(parts[3]):
        return None
    deployment, rest = parts[3], parts[4:]
    if rest == [COLLECTED]:
        return (COLLECTED, ws, target, deployment)
    if not rest or not _FP.match(rest[0]):
        return None
    fp, rest = rest[0], rest[1:]
    revision = rest.pop(0)[1:] if rest and REVISION.match(rest[0]) else ""
    replica = rest.pop(0) if rest and REPLICA.match(rest[0]) and rest[0] != "1" else "1"
    if rest:
        return None
    return ("backend", ws, target, deployment, fp, revision, replica)


def is_backend(name: str, workspace: str, target: str, deployment: str) -> bool:
    """Whether `name` is a backend name of this version for the deployment (else: an earlier version's)."""
    parsed = parse(name)
    return parsed is not None and parsed[:4] == ("backend", workspace, target, deployment)


def is_router(name: str, workspace: str, target: str) -> bool:
    return name == router(workspace, target)
