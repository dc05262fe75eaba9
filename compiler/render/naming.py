"""Names every target agrees on: image references, model versions, base images, labels."""

from __future__ import annotations

from typing import Mapping

from ..graph import Graph, ImageNode, ModelNode

MANAGED_BY = "modelctl"
TAG_LENGTH = 16  # hex characters of the image fingerprint used as its tag


def image_tag(image: ImageNode) -> str:
    """Content-addressed tag: the first 16 hex characters of the image's fingerprint."""
    return image.fingerprint[:TAG_LENGTH]


def image_reference(graph: Graph, image: ImageNode) -> str:
    """Where the built image lives: `<imageRegistry>/<name>:<tag>`, or the prebuilt reference as written."""
    if image.spec.prebuilt:
        return image.spec.prebuilt
    registry = graph.workspace.spec.image_registry
    repo = f"{registry.rstrip('/')}/{image.name}" if registry else image.name
    return f"{repo}:{image_tag(image)}"


def model_version(model: ModelNode, model_versions: Mapping[str, str] | None) -> str:
    """The registry's version string, or offline a stable placeholder from the content digest.

    The placeholder is "sha256-" + the first 12 hex characters of the artifact's sha256 (of the
    model's fingerprint for a remote artifact): the same bytes always render the same version.
    """
    if model_versions and model.id in model_versions:
        return str(model_versions[model.id])
    digest = model.artifact.sha256 if model.artifact else model.fingerprint
    return f"sha256-{digest[:12]}"


def model_digest(model: ModelNode) -> str | None:
    if model.artifact is not None:
        return f"sha256:{model.artifact.sha256}"
    return f"sha256:{model.spec.sha256}" if model.spec.sha256 else None


def base_image(graph: Graph, base: str) -> str:
    """Environment.base through Workspace.spec.baseImages (e.g. a local mirror of python:3.11-slim)."""
    return graph.workspace.spec.base_images.get(base, base)


def split_digest(reference: str) -> tuple[str, str | None]:
    """'repo:tag@sha256:…' → ('repo:tag', 'sha256:…'); no digest → (reference, None)."""
    name, sep, digest = reference.partition("@")
    return (name, digest) if sep and digest.startswith("sha256:") else (reference, None)
