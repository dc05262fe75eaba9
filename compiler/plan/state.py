"""Live state: read-only facts from each backend, gathered into one frozen snapshot.

Nothing here writes anywhere. The registry says which model/image versions exist and which
deployments it recorded, the image registry which tags are pushed, and each target its own typed
facts (held by target name; see `plan.target.TargetFacts`). `LiveState.fingerprint()` hashes what
a plan depends on, so `apply plan.json` can refuse a plan made against another state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..digest import canonical_sha256
from .target import TargetFacts


@dataclass(frozen=True)
class ModelFact:
    name: str
    version: int  # latest non-archived version
    digest: str  # its content digest, "sha256:…"
    last_version: int  # highest version ever registered (archived included): the next one is +1
    framework: str | None = None  # the latest version's recorded framework (None: not known)


@dataclass(frozen=True)
class ImageFact:
    name: str
    version: int
    fingerprint: str
    image_ref: str | None
    models: tuple[tuple[str, int], ...]
    inputs: tuple[tuple[str, str], ...] | None = None  # what apply recorded it was built from (refs.image_inputs)


@dataclass(frozen=True)
class RecordFact:
    """The registry's record of a deployment (what `deployments list` shows)."""

    name: str
    target: str
    image: str
    image_version: int
    url: str | None
    fingerprint: str


@dataclass(frozen=True)
class LiveState:
    models: Mapping[str, ModelFact] = field(default_factory=dict)
    images: Mapping[str, ImageFact] = field(default_factory=dict)
    manifests: Mapping[str, str | None] = field(default_factory=dict)  # image ref → pushed digest (None: missing)
    records: tuple[RecordFact, ...] = ()
    targets: Mapping[str, TargetFacts] = field(default_factory=dict)  # each target's own facts, by target name

    def record(self, target: str, deployment: str) -> RecordFact | None:
        return next((r for r in self.records if r.target == target and r.name == deployment), None)

    def fingerprint(self) -> str:
        """Stable hash of everything a plan depends on (health and timestamps excluded)."""
        return canonical_sha256(
            {
                "models": {k: [m.version, m.digest, m.last_version] for k, m in sorted(self.models.items())},
                "images": {k: [i.version, i.fingerprint, i.image_ref] for k, i in sorted(self.images.items())},
                "manifests": dict(sorted(self.manifests.items())),
                "records": sorted([r.target, r.name, r.fingerprint, r.image, r.image_version] for r in self.records),
                "targets": {name: facts.fingerprint() for name, facts in sorted(self.targets.items())},
            }
        )


@dataclass(frozen=True)
class Wanted:
    """What to read from the registry and the image registry: the names a plan needs."""

    workspace: str
    root: str
    models: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()  # image refs whose pushed digest matters
    image_fingerprints: tuple[tuple[str, str], ...] = ()  # (image, fingerprint git wants)
    managed_targets: tuple[str, ...] = ()  # targets whose deployment records are read


class StateReader(Protocol):
    """One backend's facts as keyword arguments of LiveState. Must not write."""

    def read(self, wanted: Wanted) -> dict[str, Any]: ...


def read_live_state(readers: list[StateReader], wanted: Wanted) -> LiveState:
    facts: dict[str, Any] = {}
    for reader in readers:
        for key, value in reader.read(wanted).items():
            if isinstance(value, dict):
                facts[key] = {**facts.get(key, {}), **value}
            elif isinstance(value, tuple):
                facts[key] = facts.get(key, ()) + value
            else:
                facts[key] = value
    return LiveState(**facts)


# --- readers -------------------------------------------------------------------------------------


class RegistryReader:
    """Models, images and deployment records from the workspace registry."""

    def __init__(self, registry: Any) -> None:  # compiler.registry.Registry, or None before the first apply
        self.registry = registry

    def read(self, wanted: Wanted) -> dict[str, Any]:
        if self.registry is None:  # no registry database yet: nothing was ever applied
            return {}
        from ..registry import NotFound

        models: dict[str, ModelFact] = {}
        for name in wanted.models:
            versions = [
                m for m in self.registry.list_models(prefix=name, include_archived=True, limit=1000) if m.name == name
            ]
            if not versions:
                continue
            try:
                latest = self.registry.get_model(name, "latest")
            except NotFound:
                continue
            models[name] = ModelFact(
                name, latest.version, latest.digest, max(v.version for v in versions), latest.framework
            )
        images: dict[str, ImageFact] = {}
        fingerprints = dict(wanted.image_fingerprints)
        for name in wanted.images:
            try:
                img = self.registry.get_image(name, "latest")
            except NotFound:
                continue
            if name in fingerprints and img.fingerprint != fingerprints[name]:
                # git went back to an image built before (e.g. after a rolled-back one): reuse it
                earlier = self.registry.find_image(name, fingerprints[name])
                img = earlier if earlier is not None and earlier.image_ref else img
            images[name] = ImageFact(
                img.name,
                img.version,
                img.fingerprint,
                img.image_ref,
                tuple((m, int(v)) for m, v in img.models),
                _inputs(img.properties.get("inputs")),
            )
        managed = set(wanted.managed_targets)
        records = tuple(
            RecordFact(d.name, d.target, d.image, d.image_version, d.url, d.fingerprint)
            for d in self.registry.list_deployments()
            if d.target in managed
        )
        return {"models": models, "images": images, "records": records}


def _inputs(raw: object) -> tuple[tuple[str, str], ...] | None:
    """An image's recorded inputs (apply writes them; older records have none)."""
    if not isinstance(raw, dict):
        return None
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))
