"""Plain, immutable records returned by the registry API (no database objects leak out)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class ModelVersion(_Record):
    name: str
    version: int
    digest: str  # sha256 of the file, or of the canonical tree manifest for a folder
    kind: str  # "file" | "tree"
    entry: str | None  # main file inside the model ("iris.joblib", "model.onnx", "MLmodel")
    framework: str
    size: int
    signature: dict[str, Any] | None
    flavors: dict[str, Any]  # what the framework reader found (never by unpickling)
    description: str | None
    properties: dict[str, Any]
    tags: dict[str, str]
    aliases: list[str]
    archived: bool
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ImageVersion(_Record):
    name: str
    version: int
    fingerprint: str
    image_ref: str | None
    environment: str
    models: list[tuple[str, int]]
    description: str | None
    properties: dict[str, Any]
    tags: dict[str, str]
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class Deployment(_Record):
    name: str
    target: str
    image: str
    image_version: int
    url: str | None
    fingerprint: str
    updated_at: datetime


@dataclass(frozen=True)
class AliasEvent(_Record):
    alias: str
    version: int | None  # None: the alias was removed (or no version was "latest")
    at: datetime


@dataclass(frozen=True)
class Lock(_Record):
    scope: str
    owner: str
    operation: str
    token: str
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Action(_Record):
    id: int
    run_id: str
    resource: str
    action: str
    result: str
    git_commit: str | None
    user: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
