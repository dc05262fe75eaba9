"""What apply needs from the outside world, as narrow interfaces (pyinfra's "operations" side).

The executor only talks to these: a `RegistryWriter` (models, images, deployment records,
history, locks) and one `DeploymentTarget` per target type. Tests wrap them in counting
proxies to prove a no-change apply performs zero write calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

Progress = Callable[[str], None]  # "building step 3/12", shown beside the action


@dataclass(frozen=True)
class BuiltImage:
    ref: str            # the tag built: <registry>/<image>:<tag>
    pinned: str         # <registry>/<image>@sha256:… once pushed (the tag itself when there is no registry)
    cached_steps: int = 0
    steps: int = 0


@dataclass(frozen=True)
class DeployRequest:
    """Everything a target needs to run one deployment; secrets by name only."""
    workspace: str
    root: Path
    resource: str
    name: str
    target_name: str
    target: Any                 # the Workspace's target settings (e.g. DockerTarget)
    fingerprint: str
    image_ref: str
    image_name: str
    image_port: int
    spec: Any                   # DeploymentSpec
    spec_json: dict = field(default_factory=dict)
    rendered: Path | None = None  # publishing targets: the deployment's rendered folder


@dataclass(frozen=True)
class DeployResult:
    url: str
    container: str
    notes: tuple[str, ...] = ()  # e.g. "generated API key in .modelctl/secrets/iris-keys"


class ImageBuilder(Protocol):
    def build(self, context: Path, ref: str, *, resource: str, progress: Progress) -> BuiltImage: ...
    def push(self, built: BuiltImage, *, progress: Progress) -> BuiltImage: ...


class DeploymentTarget(Protocol):
    def deploy(self, request: DeployRequest, *, progress: Progress) -> DeployResult: ...
    def delete(self, target_name: str, target: Any, name: str, *, progress: Progress) -> None: ...


class RegistryWriter(Protocol):
    def register_model(self, name: str, source: Path, **kw: Any) -> Any: ...
    def register_image(self, name: str, **kw: Any) -> Any: ...
    def record_deployment(self, *args: Any, **kw: Any) -> Any: ...
    def remove_deployment(self, name: str, target: str) -> None: ...
    def record_action(self, *args: Any, **kw: Any) -> Any: ...
    def get_model(self, name: str, ref: int | str = "latest") -> Any: ...
    def materialize_model(self, name: str, version: int | str, dest: Path) -> list[Path]: ...
