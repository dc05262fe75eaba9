"""Live state: read-only facts from each backend, gathered into one frozen snapshot.

Nothing here writes anywhere. The registry says which model/image versions exist, the Docker
engine which containers and routes run (by modelctl's labels), the OCI registry which image
tags are pushed. `LiveState.fingerprint()` hashes what a plan depends on, so `apply plan.json`
can refuse a plan made against another state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol

from ..digest import canonical_sha256
from ..spec.workspace import DockerTarget


@dataclass(frozen=True)
class ModelFact:
    name: str
    version: int        # latest non-archived version
    digest: str         # its content digest, "sha256:…"
    last_version: int   # highest version ever registered (archived included): the next one is +1


@dataclass(frozen=True)
class ImageFact:
    name: str
    version: int
    fingerprint: str
    image_ref: str | None
    models: tuple[tuple[str, int], ...]


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
class ContainerFact:
    id: str
    name: str
    target: str
    deployment: str
    fingerprint: str
    image_ref: str
    state: str                 # running | exited | created | restarting | …
    health: str | None         # healthy | unhealthy | starting | None
    spec: str                  # the deployment spec it was started from (compact JSON)
    backend_port: int | None
    prevent_destroy: bool = False
    secrets: tuple[tuple[str, str], ...] | None = None  # (secret id, digest of the value it started with);
    #                                                   None: started by a version that did not record them

    @property
    def running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class RouteFact:
    deployment: str
    container: str             # the first backend container receiving the traffic
    port: int                  # the stable published port
    backend_port: int          # the first backend's port
    fingerprint: str
    prevent_destroy: bool = False
    replicas: tuple[tuple[str, int], ...] = ()  # every (container, backend port); empty: just the first

    @property
    def servers(self) -> tuple[tuple[str, int], ...]:
        """(container, backend port) of every replica the router balances over."""
        return self.replicas or ((self.container, self.backend_port),)


@dataclass(frozen=True)
class PublishedFact:
    """A bundle an edge or fpga target published, read back from where it was published."""
    target: str
    deployment: str
    fingerprint: str
    image_ref: str
    spec: str                  # the deployment spec it was rendered from (compact JSON)
    where: str                 # folder or OCI reference
    intact: bool = True        # its files still match the checksums written at publish
    prevent_destroy: bool = False


@dataclass(frozen=True)
class EndpointRouteFact:
    """An endpoint's listener on the router: a stable port split across deployments."""
    endpoint: str
    port: int
    fingerprint: str
    traffic: tuple[tuple[str, int], ...]  # (deployment, percent), sorted
    path: str = "/"


@dataclass(frozen=True)
class RouterFact:
    target: str
    container: str
    running: bool
    bind_address: str
    routes: tuple[RouteFact, ...] = ()
    endpoints: tuple[EndpointRouteFact, ...] = ()

    def route(self, deployment: str) -> RouteFact | None:
        return next((r for r in self.routes if r.deployment == deployment), None)

    def endpoint(self, name: str) -> EndpointRouteFact | None:
        return next((e for e in self.endpoints if e.endpoint == name), None)


@dataclass(frozen=True)
class LiveState:
    models: Mapping[str, ModelFact] = field(default_factory=dict)
    images: Mapping[str, ImageFact] = field(default_factory=dict)
    manifests: Mapping[str, str | None] = field(default_factory=dict)  # image ref → pushed digest (None: missing)
    records: tuple[RecordFact, ...] = ()
    containers: tuple[ContainerFact, ...] = ()
    routers: Mapping[str, RouterFact] = field(default_factory=dict)    # by docker target name
    secrets: Mapping[str, str | None] = field(default_factory=dict)  # secret id → digest now (None: not found)
    published: tuple[PublishedFact, ...] = ()                          # bundles of edge / fpga targets

    def published_of(self, target: str, deployment: str) -> PublishedFact | None:
        return next((p for p in self.published if p.target == target and p.deployment == deployment), None)

    def containers_of(self, target: str, deployment: str) -> list[ContainerFact]:
        return [c for c in self.containers if c.target == target and c.deployment == deployment]

    def record(self, target: str, deployment: str) -> RecordFact | None:
        return next((r for r in self.records if r.target == target and r.name == deployment), None)

    def fingerprint(self) -> str:
        """Stable hash of everything a plan depends on (health and timestamps excluded)."""
        return canonical_sha256({
            "models": {k: [m.version, m.digest, m.last_version] for k, m in sorted(self.models.items())},
            "images": {k: [i.version, i.fingerprint, i.image_ref] for k, i in sorted(self.images.items())},
            "manifests": dict(sorted(self.manifests.items())),
            "records": sorted([r.target, r.name, r.fingerprint, r.image, r.image_version] for r in self.records),
            "containers": sorted([c.target, c.deployment, c.name, c.fingerprint, c.running] for c in self.containers),
            "secrets": dict(sorted(self.secrets.items())),
            "published": sorted([p.target, p.deployment, p.fingerprint, p.intact] for p in self.published),
            "routers": {t: [r.running, sorted([x.deployment, [list(b) for b in x.servers], x.port, x.fingerprint] for x in r.routes),
                            sorted([e.endpoint, e.port, e.fingerprint] for e in r.endpoints)]
                        for t, r in sorted(self.routers.items())},
        })


@dataclass(frozen=True)
class Wanted:
    """What to read: the names a plan needs (reading everything would not scale)."""
    workspace: str
    root: str
    models: tuple[str, ...] = ()
    images: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()                               # image refs whose pushed digest matters
    docker_targets: tuple[tuple[str, DockerTarget], ...] = ()
    secrets: tuple[str, ...] = ()                            # secret ids used by docker deployments
    image_fingerprints: tuple[tuple[str, str], ...] = ()     # (image, fingerprint git wants)
    publish_targets: tuple[tuple[str, Any], ...] = ()        # edge / fpga targets whose bundles are read


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

    def __init__(self, registry) -> None:  # noqa: ANN001 - compiler.registry.Registry or None
        self.registry = registry

    def read(self, wanted: Wanted) -> dict[str, Any]:
        if self.registry is None:  # no registry database yet: nothing was ever applied
            return {}
        from ..registry import NotFound

        models: dict[str, ModelFact] = {}
        for name in wanted.models:
            versions = [m for m in self.registry.list_models(prefix=name, include_archived=True, limit=1000)
                        if m.name == name]
            if not versions:
                continue
            try:
                latest = self.registry.get_model(name, "latest")
            except NotFound:
                continue
            models[name] = ModelFact(name, latest.version, latest.digest, max(v.version for v in versions))
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
            images[name] = ImageFact(img.name, img.version, img.fingerprint, img.image_ref,
                                     tuple((m, int(v)) for m, v in img.models))
        managed = {name for name, _ in wanted.docker_targets} | {name for name, _ in wanted.publish_targets}
        records = tuple(RecordFact(d.name, d.target, d.image, d.image_version, d.url, d.fingerprint)
                        for d in self.registry.list_deployments() if d.target in managed)
        return {"models": models, "images": images, "records": records}


class OciReader:
    """Which image references are pushed, and their manifest digests."""

    def __init__(self, client=None) -> None:  # noqa: ANN001
        from ..targets.oci import OciClient
        self.client = client or OciClient()

    def read(self, wanted: Wanted) -> dict[str, Any]:
        from ..targets.oci import parse_reference

        return {"manifests": {ref: self.client.manifest_digest(ref) for ref in wanted.refs
                              if parse_reference(ref).host is not None}}


def open_registry_if_present(url: str, artifacts: str, root: Path):  # noqa: ANN201
    """The registry, or None when its SQLite file does not exist yet (a plan never creates it)."""
    from sqlalchemy.engine import make_url

    from ..registry import open_registry

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = Path(parsed.database or "")
        path = path if path.is_absolute() else Path(root) / path
        if not path.exists():
            return None
    return open_registry(url, artifacts, Path(root))
