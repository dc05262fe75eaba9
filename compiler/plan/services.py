"""What apply writes through, as narrow interfaces: the registry, an image builder and one
connection per target type (`plan.target.Connection`). Tests wrap them in counting proxies to
prove a no-change apply performs zero write calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from ..registry.records import Action as RecordedAction
from ..registry.records import Deployment, ImageVersion, Lock, ModelVersion
from .target import Connection, Progress


@dataclass(frozen=True)
class BuiltImage:
    ref: str  # the tag built: <registry>/<image>:<tag>
    pinned: str  # <registry>/<image>@sha256:… once pushed (the tag itself when there is no registry)
    cached_steps: int = 0
    steps: int = 0


class ImageBuilder(Protocol):
    def build(self, context: Path, ref: str, *, resource: str, progress: Progress) -> BuiltImage: ...
    def push(self, built: BuiltImage, *, progress: Progress) -> BuiltImage: ...


class RegistryWriter(Protocol):
    """The registry calls apply makes, with compiler.registry.Registry's exact signatures (it satisfies
    this structurally; tests wrap it in counting proxies)."""

    def register_model(
        self,
        name: str,
        source: Path,
        *,
        framework: str,
        tags: dict[str, str] | None = None,
        properties: dict[str, Any] | None = None,
        signature: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> tuple[ModelVersion, bool]: ...
    def get_model(self, name: str, ref: int | str = "latest") -> ModelVersion: ...
    def materialize_model(self, name: str, version: int | str, dest: Path) -> list[Path]: ...
    def register_image(
        self,
        name: str,
        *,
        fingerprint: str,
        models: list[tuple[str, int | str]],
        environment: str,
        tags: dict[str, str] | None = None,
        properties: dict[str, Any] | None = None,
        description: str | None = None,
        image_ref: str | None = None,
    ) -> tuple[ImageVersion, bool]: ...
    def get_image(self, name: str, ref: int | str = "latest") -> ImageVersion: ...
    def record_deployment(
        self, name: str, target: str, image: str, image_version: int | str, url: str | None, fingerprint: str
    ) -> Deployment: ...
    def remove_deployment(self, name: str, target: str) -> None: ...
    def record_action(
        self,
        run_id: str,
        resource: str,
        action: str,
        result: str,
        *,
        git_commit: str | None = None,
        user: str | None = None,
        detail: dict[str, Any] | None = None,
        started_at: datetime | None = None,
        finished_at: datetime | None = None,
    ) -> RecordedAction: ...
    def acquire_lock(self, scope: str, owner: str, operation: str, ttl_seconds: float) -> Lock: ...
    def renew_lock(self, lock: Lock, ttl_seconds: float) -> Lock: ...
    def release_lock(self, lock: Lock) -> None: ...
    def force_release_lock(self, scope: str) -> Lock: ...


@dataclass
class Services:
    """Everything apply writes through (a test wraps these to count write calls)."""

    registry: RegistryWriter
    builder: ImageBuilder | None = None
    connections: dict[str, Connection] = field(default_factory=dict)  # by target type
