"""Environment: the runtime an image is built on (base image, Python packages)."""

from __future__ import annotations

from pydantic import Field

from .common import StrictModel
from .grammar import DebianPackage, EnvironmentRef, ImageEnvValue, ImageReference, PipRequirement, RuntimeEnvName


class EnvironmentSpec(StrictModel):
    base: ImageReference | None = Field(
        None, description="Base image, e.g. python:3.11-slim; pinned by digest once resolved."
    )
    inherit: EnvironmentRef | None = Field(
        None, description="Another Environment this one extends (its base, packages, env)."
    )
    python: str = Field("3.11", pattern=r"^3\.\d+$")
    pip: list[PipRequirement] = Field(
        default_factory=list, description="Pinned pip requirements (PEP 508; no pip options, no URLs)."
    )
    apt: list[DebianPackage] = Field(
        default_factory=list, description="Debian packages installed in the image (NAME[:ARCH][=VERSION])."
    )
    env: dict[RuntimeEnvName, ImageEnvValue] = Field(
        default_factory=dict,
        description="Environment variables set in the image (one line each; names starting "
        "with MODELCTL_ are the runtime's own).",
    )
