"""What a device does with a published edge bundle before running it: fetch it, verify every
checksum, and decide from its tags whether it gets the deployment and which one wins.

Checks, each refusing the bundle with the file named: every published file against the sha256 the
marker recorded at publish, SHA256SUMS against the files it lists, and inside bundle.tar.gz its own
SHA256SUMS against its deployment.json, which must be the published deployment.json byte for byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ApplyError
from ...registry.errors import RegistryError
from .bundles import MARKER, Bundle, FileBundles, OciBundles
from .target_condition import ConditionError, evaluate


class TamperedBundle(ApplyError):
    pass


@dataclass(frozen=True)
class Fetched:
    name: str
    where: str
    manifest: dict  # deployment.json as bundle.tar.gz carries it
    marker: dict


def _hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sums(text: str, where: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64:
            raise TamperedBundle(f"refusing the bundle: {where} has a malformed line {line[:80]!r}")
        out[path] = digest
    return out


def fetch(bundles: FileBundles | OciBundles, bundle: Bundle) -> Fetched:
    """The bundle's files, every checksum verified (TamperedBundle naming the file otherwise)."""
    where = bundle.where
    recorded: dict[str, str] = bundle.marker.get("files") or {}
    files: dict[str, bytes] = {}
    if isinstance(bundles, FileBundles):
        folder = Path(where)
        present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        for rel in present:
            if rel != MARKER and rel not in recorded:
                raise TamperedBundle(f"refusing the bundle: {where}/{rel} is not one of the files published")
    for rel, digest in sorted(recorded.items()):
        try:
            data = bundles.read(bundle, rel)
        except RegistryError as exc:  # the registry's blob does not hash to its digest, or is gone
            raise TamperedBundle(f"refusing the bundle: {where}/{rel}: {exc}") from None
        if data is None:
            raise TamperedBundle(f"refusing the bundle: {where}/{rel} is missing")
        if "sha256:" + _hex(data) != digest:
            raise TamperedBundle(
                f"refusing the bundle: {where}/{rel} does not match its checksum "
                f"(published {digest[:19]}…, now sha256:{_hex(data)[:12]}…)"
            )
        files[rel] = data
    for rel in ("SHA256SUMS", "bundle.tar.gz", "deployment.json"):
        if rel not in files:
            raise TamperedBundle(f"refusing the bundle: {where}/{rel} is missing")
    for rel, digest in _sums(files["SHA256SUMS"].decode("utf-8", "replace"), f"{where}/SHA256SUMS").items():
        if rel not in files or _hex(files[rel]) != digest:
            raise TamperedBundle(f"refusing the bundle: {where}/{rel} does not match SHA256SUMS")
    inner = _untar(files["bundle.tar.gz"], f"{where}/bundle.tar.gz")
    if "deployment.json" not in inner or "SHA256SUMS" not in inner:
        raise TamperedBundle(f"refusing the bundle: {where}/bundle.tar.gz lacks deployment.json or SHA256SUMS")
    for rel, digest in _sums(
        inner["SHA256SUMS"].decode("utf-8", "replace"), f"{where}/bundle.tar.gz!SHA256SUMS"
    ).items():
        if rel not in inner or _hex(inner[rel]) != digest:
            raise TamperedBundle(f"refusing the bundle: {where}/bundle.tar.gz!{rel} does not match its SHA256SUMS")
    if inner["deployment.json"] != files["deployment.json"]:
        raise TamperedBundle(f"refusing the bundle: {where}/bundle.tar.gz and {where}/deployment.json differ")
    try:
        manifest = json.loads(inner["deployment.json"])
    except ValueError as exc:
        raise TamperedBundle(f"refusing the bundle: {where}/deployment.json is not JSON ({exc})") from None
    return Fetched(bundle.name, where, manifest, bundle.marker)


def _untar(data: bytes, where: str) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile() or "/" in member.name or member.name.startswith("."):
                    raise TamperedBundle(f"refusing the bundle: {where} holds {member.name!r}, not a plain file")
                extracted = tar.extractfile(member)
                out[member.name] = extracted.read() if extracted else b""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise TamperedBundle(f"refusing the bundle: {where} is not a readable tar.gz ({exc})") from None
    return out


@dataclass(frozen=True)
class Candidate:
    """A deployment published on the device's target, as the device would weigh it."""

    name: str
    id: str
    priority: int
    layered: bool
    condition: str
    published_at: str
    matches: bool | None  # None: no tags given
    problem: str = ""


def candidates(bundles: FileBundles | OciBundles, target: str, tags: dict[str, Any] | None) -> list[Candidate]:
    out = []
    for bundle in bundles.list():
        if bundle.marker.get("target") != target:
            continue
        data = bundles.read(bundle, "deployment.json") if bundle.intact else None
        try:
            manifest = json.loads(data) if data else None
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict) or "content" not in manifest:
            continue  # not an edge bundle, or changed by hand: a device would not get it
        condition = str(manifest.get("targetCondition", ""))
        matches: bool | None = None
        problem = ""
        if tags is not None:
            try:
                matches = evaluate(condition, tags)
            except ConditionError as exc:
                matches, problem = False, str(exc)
        agent = manifest["content"]["modulesContent"].get("$edgeAgent", {})
        out.append(
            Candidate(
                bundle.name,
                str(manifest.get("id", bundle.name)),
                int(manifest.get("priority", 0)),
                "properties.desired" not in agent,
                condition,
                str(bundle.marker.get("publishedAt", "")),
                matches,
                problem,
            )
        )
    return sorted(out, key=lambda c: (-c.priority, c.published_at, c.name))


def winner(found: list[Candidate]) -> Candidate | None:
    """The base deployment a device gets: the highest priority, a tie going to the newest."""
    bases = [c for c in found if not c.layered and c.matches]
    return max(bases, key=lambda c: (c.priority, c.published_at), default=None)


def agent_modules(manifest: dict) -> dict[str, dict]:
    """The modules $edgeAgent runs for this deployment (base or layered form)."""
    agent = manifest["content"]["modulesContent"].get("$edgeAgent", {})
    if "properties.desired" in agent:
        return dict(agent["properties.desired"].get("modules") or {})
    prefix = "properties.desired.modules."
    return {k[len(prefix) :]: v for k, v in agent.items() if k.startswith(prefix)}


def routes(manifest: dict) -> dict[str, str]:
    hub = manifest["content"]["modulesContent"].get("$edgeHub", {})
    found = (hub.get("properties.desired") or {}).get("routes") if "properties.desired" in hub else None
    if found is None:
        prefix = "properties.desired.routes."
        found = {k[len(prefix) :]: v for k, v in hub.items() if k.startswith(prefix)}
    return {name: (r["route"] if isinstance(r, dict) else str(r)) for name, r in sorted(found.items())}


def carries(route: str, module: str, output: str) -> bool:
    """Whether a route's FROM takes messages `module` sends on `output` (IoT Edge's source paths)."""
    source = route.split("FROM", 1)[-1].split(" WHERE ", 1)[0].split(" INTO ", 1)[0].strip()
    return source in (
        "/*",
        "/messages/*",
        "/messages/modules/*",
        f"/messages/modules/{module}/*",
        f"/messages/modules/{module}/outputs/*",
        f"/messages/modules/{module}/outputs/{output}",
    )


def collected_routes(manifest: dict, scorer: str) -> dict[str, str]:
    return {name: r for name, r in routes(manifest).items() if carries(r, scorer, "collected")}
