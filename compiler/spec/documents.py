"""The document envelope (apiVersion, kind, metadata, spec) and the table of kinds."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field

from .common import API_VERSION, Metadata, StrictModel
from .deployment import DeploymentSpec
from .endpoint import EndpointSpec
from .environment import EnvironmentSpec
from .image import ImageSpec
from .model import ModelSpec
from .workspace import WorkspaceSpec


class _Document(StrictModel):
    schema_: str | None = Field(None, alias="$schema", description="Editor hint: the JSON Schema of this document.")
    api_version: Literal["modelctl.io/v1"] = Field(alias="apiVersion")
    metadata: Metadata


class Workspace(_Document):
    kind: Literal["Workspace"]
    spec: WorkspaceSpec = Field(default_factory=WorkspaceSpec)


class Model(_Document):
    kind: Literal["Model"]
    spec: ModelSpec


class Environment(_Document):
    kind: Literal["Environment"]
    spec: EnvironmentSpec


class Image(_Document):
    kind: Literal["Image"]
    spec: ImageSpec


class Deployment(_Document):
    kind: Literal["Deployment"]
    spec: DeploymentSpec


class Endpoint(_Document):
    kind: Literal["Endpoint"]
    spec: EndpointSpec


Document = Union[Workspace, Model, Environment, Image, Deployment, Endpoint]
"""A validated document of any kind (narrow it with isinstance)."""

KINDS: dict[str, type[Document]] = {
    cls.__name__: cls for cls in (Workspace, Model, Environment, Image, Deployment, Endpoint)
}

AnyDocument = Annotated[Document, Field(discriminator="kind")]

__all__ = [
    "API_VERSION",
    "KINDS",
    "AnyDocument",
    "Document",
    "Workspace",
    "Model",
    "Environment",
    "Image",
    "Deployment",
    "Endpoint",
]
