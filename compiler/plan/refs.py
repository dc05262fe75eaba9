"""Desired names that plan and apply agree on: image references, model digests as the registry computes them."""

from __future__ import annotations

from pathlib import Path

from ..graph import Graph, ImageNode, ModelNode


def image_reference(graph: Graph, image: ImageNode) -> str:
    """`<imageRegistry>/<image>:<fingerprint tag>` (render's naming), or the prebuilt reference as written."""
    from ..render.naming import image_reference as rendered_reference

    return rendered_reference(graph, image)


def registry_digest(graph: Graph, model: ModelNode) -> str | None:
    """The digest the registry will record for the model's artifact (None for a remote artifact).

    A file: sha256 of its bytes. A folder: sha256 of the registry's canonical tree manifest.
    """
    if model.artifact is None:
        return None
    if not model.artifact.is_dir:
        return f"sha256:{model.artifact.sha256}"
    from ..registry.artifacts import source_digest

    return source_digest(Path(graph.root) / model.artifact.path)


def short(digest_or_fp: str | None, n: int = 12) -> str:
    if not digest_or_fp:
        return "none"
    return digest_or_fp.split(":", 1)[-1][:n]
