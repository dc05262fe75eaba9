"""Image: models + scoring code + environment, built into a container image."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from .common import MODEL_REF_PATTERN, StrictModel
from .grammar import EnvironmentRef, ImageReference, Port, RepoPath

ModelRef = Annotated[str, StringConstraints(pattern=MODEL_REF_PATTERN)]


class Scoring(StrictModel):
    script: RepoPath | None = Field(None, description="A custom scoring script (init()/run(data)) inside the repo.")


class ImageSpec(StrictModel):
    models: list[ModelRef] = Field(
        default_factory=list,
        description="Model references: name, name@3, name@latest or name@tag:stable.",
    )
    environment: EnvironmentRef | None = Field(None, description="curated/<name> or an Environment in this repo.")
    scoring: Scoring = Field(default_factory=Scoring)
    prebuilt: ImageReference | None = Field(
        None, description="Use this prebuilt image (registry/name@sha256:… or a tag) instead of a build."
    )
    port: Port = 8080

    @model_validator(mode="after")
    def _build_or_prebuilt(self) -> "ImageSpec":
        if self.prebuilt is None and self.environment is None:
            raise ValueError("an image needs an 'environment' to build on (or 'prebuilt' for an existing image)")
        if self.prebuilt is None and not self.models and self.scoring.script is None:
            raise ValueError("an image needs at least one model or a scoring script")
        return self
