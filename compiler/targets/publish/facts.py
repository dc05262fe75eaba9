"""Read-only facts of publishing targets (edge, fpga): the bundles published for this workspace."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import PlanError
from ...plan.target import FactsRequest, RollbackMark
from ...registry.errors import RegistryError
from .bundles import Bundle, FileBundles, OciBundles, open_bundles
from .iothub import LiveDeployment
from .location import parse_location, publish_setting


@dataclass(frozen=True)
class PublishedFact:
    """A bundle an edge or fpga target published, read back from where it was published."""

    target: str
    deployment: str
    fingerprint: str
    image_ref: str
    spec: str  # the deployment spec it was rendered from (compact JSON)
    where: str  # folder or OCI reference
    intact: bool = True  # its files still match the checksums written at publish
    prevent_destroy: bool = False
    edge: LiveDeployment | None = None  # an edge bundle: the IoT Hub deployment published now
    rollback: RollbackMark | None = None  # `modelctl rollback` put this revision back


@dataclass(frozen=True)
class PublishedFacts:
    """What one publishing target holds for this workspace."""

    bundles: tuple[PublishedFact, ...] = ()

    def of(self, deployment: str) -> PublishedFact | None:
        return next((b for b in self.bundles if b.deployment == deployment), None)

    def fingerprint(self) -> Any:
        return sorted([b.deployment, b.fingerprint, b.intact] for b in self.bundles)


def read_published(request: FactsRequest) -> dict[str, PublishedFacts]:
    """Every bundle published for this workspace where each target publishes (one listing per target)."""
    out: dict[str, PublishedFacts] = {}
    for name, target in request.targets:
        published: list[PublishedFact] = []
        publish = publish_setting(target)
        bundles = open_bundles(parse_location(publish, Path(request.root), name), request.workspace)
        try:
            try:
                found = bundles.list()
            except RegistryError as exc:
                raise PlanError(
                    f"target {name}: cannot read what is published at {publish}: {str(exc).split(': ', 1)[-1]}"
                ) from None
            for b in found:
                m = b.marker
                if m.get("target") != name or not str(m.get("resource", "")).startswith("Deployment/"):
                    continue
                published.append(
                    PublishedFact(
                        name,
                        m["resource"].split("/", 1)[1],
                        str(m.get("fingerprint", "")),
                        str(m.get("imageRef", "")),
                        json.dumps(m.get("spec") or {}, sort_keys=True),
                        b.where,
                        b.intact,
                        bool(m.get("preventDestroy", False)),
                        _live_deployment(bundles, b),
                        _mark(b.rollback, str(m.get("fingerprint", ""))),
                    )
                )
        finally:
            bundles.close()
        out[name] = PublishedFacts(tuple(sorted(published, key=lambda p: p.deployment)))
    return out


def _live_deployment(bundles: FileBundles | OciBundles, bundle: Bundle) -> LiveDeployment | None:
    """The deployment.json an edge bundle publishes (None: not an edge bundle, or unreadable)."""
    if not bundle.intact:
        return None  # changed by hand: republished whole
    try:
        data = bundles.read(bundle, "deployment.json")
        manifest = json.loads(data) if data else None
    except (OSError, ValueError, RegistryError):
        return None
    if not isinstance(manifest, dict) or "content" not in manifest:
        return None
    spec_priority = ((bundle.marker.get("spec") or {}).get("edge") or {}).get("priority")
    return LiveDeployment.from_manifest(manifest, spec_priority if isinstance(spec_priority, int) else None)


def _mark(raw: object, fingerprint: str) -> RollbackMark | None:
    """The rollback mark beside the current pointer, when it is about the revision served now."""
    mark = RollbackMark.from_json(raw)
    return mark if mark is not None and mark.to_fingerprint == fingerprint else None
