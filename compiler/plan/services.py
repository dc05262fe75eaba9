"""What apply writes through, as narrow interfaces: the registry, an image builder and one
connection per target type (`plan.target.Connection`). Tests wrap them in counting proxies to
prove a no-change apply performs zero write calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .target import Connection, Progress


@dataclass(frozen=True)
class BuiltImage:
    ref: str            # the tag built: <registry>/<image>:<tag>
    pinned: str         # <registry>/<image>@sha256:… once pushed (the tag itself when there is no registry)
    cached_steps: int = 0
    steps: int = 0


class ImageBuilder(Protocol):
    def build(self, context: Path, ref: str, *, resource: str, progress: Progress) -> BuiltImage: ...
    def push(self, built: BuiltImage, *, progress: Progress) -> BuiltImage: ...


class RegistryWriter(Protocol):
    """The registry calls apply makes (compiler.registry.Registry implements them)."""

    def register_model(self, name: str, source: Path, **kw: Any) -> Any: ...
    def get_model(self, name: str, ref: int | str = "latest") -> Any: ...
    def materialize_model(self, name: str, version: int | str, dest: Path) -> list[Path]: ...
    def register_image(self, name: str, **kw: Any) -> Any: ...
    def get_image(self, name: str, ref: int | str = "latest") -> Any: ...
    def record_deployment(self, name: str, target: str, image: str, image_version: int | str, url: str | None,
                          fingerprint: str) -> Any: ...
    def remove_deployment(self, name: str, target: str) -> None: ...
    def record_action(self, run_id: str, resource: str, action: str, result: str, **kw: Any) -> Any: ...
    def acquire_lock(self, scope: str, owner: str, operation: str, ttl_seconds: float) -> Any: ...
    def renew_lock(self, lock: Any, ttl_seconds: float) -> Any: ...
    def release_lock(self, lock: Any) -> None: ...
    def force_release_lock(self, scope: str) -> Any: ...


@dataclass
class Services:
    """Everything apply writes through (a test wraps these to count write calls)."""
    registry: RegistryWriter
    builder: ImageBuilder | None = None
    connections: dict[str, Connection] = field(default_factory=dict)  # by target type
