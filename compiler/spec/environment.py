"""Environment: the runtime an image is built on (base image, Python packages)."""

from __future__ import annotations

from pydantic import Field

from .common import StrictModel


class EnvironmentSpec(StrictModel):
    base: str | None = Field(None, description="Base image, e.g. python:3.11-slim; pinned by digest once resolved.")
    inherit: str | None = Field(None, description="Another Environment this one extends (its base, packages, env).")
    python: str = Field("3.11", pattern=r"^3\.\d+$")
    pip: list[str] = Field(default_factory=list, description="Pinned pip requirements.")
    apt: list[str] = Field(default_factory=list, description="Debian packages installed in the image.")
    env: dict[str, str] = Field(default_factory=dict, description="Environment variables set in the image.")
