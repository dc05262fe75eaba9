"""Workspace: where the registry, artifacts and images live, and the deployment targets."""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, field_validator

from .common import Name, StrictModel
from .grammar import GatewayRef, ImageReference, ImageRegistry, IpAddress, KubernetesNamespace, OneLine, Port, SpecError

# file:// a folder inside the repo (relative; no segment is '..') or oci://HOST[:PORT]/REPOSITORY
# (no control characters anywhere: a NUL in a folder name would reach the file system)
_C = r"\s\x00-\x1f\x7f"
_SEGMENT = rf"(?:[^./{_C}][^/{_C}]*|\.(?:[^./{_C}][^/{_C}]*)?|\.\.[^/{_C}]+)"
PUBLISH_PATTERN = rf"^(?:file://{_SEGMENT}(?:/{_SEGMENT})*/?|oci://[^/{_C}]+/[^{_C}]+)$"


class DockerTarget(StrictModel):
    type: Literal["docker"]
    host: OneLine | None = Field(None, description="Docker engine URL; DOCKER_HOST or the default socket when unset.")
    bind_address: IpAddress = Field("127.0.0.1", description="Host IP address that published ports bind to.")
    port_range: list[Port] = Field(
        [18000, 18999],
        min_length=2,
        max_length=2,
        description="First and last host port modelctl may publish services on.",
    )

    @field_validator("port_range")
    @classmethod
    def _ordered(cls, port_range: list[int]) -> list[int]:
        first, last = port_range
        if first > last:
            raise SpecError(
                f"portRange [{first}, {last}] is empty: the first port is above the last",
                expected="[FIRST, LAST] with FIRST <= LAST, both in 1-65535",
                suggestion=f"write [{last}, {first}]",
            )
        return port_range


class KubernetesTarget(StrictModel):
    type: Literal["kubernetes"]
    context: OneLine | None = Field(None, description="kubeconfig context; the current one when unset.")
    kubeconfig: OneLine | None = Field(
        None, description="Path to a kubeconfig; KUBECONFIG or ~/.kube/config when unset."
    )
    namespace: KubernetesNamespace = Field(
        "default", description="Namespace of every rendered object (DNS-1123 label)."
    )
    gateway: GatewayRef | None = Field(None, description="Gateway (namespace/name) that HTTPRoutes attach to.")
    gateway_class: Name | None = Field(
        None,
        description="GatewayClass of the Gateway modelctl renders for an Endpoint with tls (an HTTPS listener).",
        exclude_if=lambda v: v is None,  # unset: not in fingerprints, so adding the field rolls nothing
    )


class EdgeTarget(StrictModel):
    type: Literal["edge"]
    publish: str = Field(
        pattern=PUBLISH_PATTERN,
        description="Where bundles are published: file://DIR (inside the repo) or oci://HOST/REPO.",
    )
    hub: str | None = Field(None, description="IoT hub name, for documentation of the bundle.")
    registry_credentials: str | None = Field(
        None,
        pattern=r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
        description="Name of a secret (username, password) for the image registry; manifests refer to it, never copy it.",
    )


class FpgaTarget(StrictModel):
    type: Literal["fpga"]
    publish: str = Field(
        pattern=PUBLISH_PATTERN,
        description="Where accelerator host configs are published: file://DIR (inside the repo) or oci://HOST/REPO.",
    )


Target = Annotated[Union[DockerTarget, KubernetesTarget, EdgeTarget, FpgaTarget], Field(discriminator="type")]
TARGET_TYPES = ("docker", "kubernetes", "edge", "fpga")


class WorkspaceSpec(StrictModel):
    registry: OneLine = Field("sqlite:///.modelctl/registry.db", description="SQLAlchemy URL of the model registry.")
    artifacts: OneLine = Field(
        "file://.modelctl/artifacts", description="Artifact store: file://DIR or oci://HOST/REPO."
    )
    image_registry: ImageRegistry | None = Field(
        None, description="Registry images are pushed to, e.g. 127.0.0.1:5000/team."
    )
    base_images: dict[ImageReference, ImageReference] = Field(
        default_factory=dict,
        description="Map of base image names to the images used instead (e.g. a local mirror).",
    )
    targets: dict[Name, Target] = Field(
        default_factory=dict, description="Deployment targets by name (a DNS-1123 label: it names folders and objects)."
    )
    exclude: list[str] = Field(
        default_factory=list, description="Glob patterns of YAML files that are not modelctl documents."
    )
