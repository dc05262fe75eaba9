"""Desired names that plan and apply agree on: image references, model digests as the registry computes them."""

from __future__ import annotations

import hashlib
import json
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


def image_inputs(graph: Graph, image: ImageNode) -> dict[str, str]:
    """What a built image is made of, one entry per input, each short and comparable: apply records
    them in the image's registry properties, and a rebuild's reason names the inputs that changed.

    Model versions are not here (the plan compares them itself); their frameworks are, since a
    framework decides how the runtime loads a model.
    """
    from ..graph.fingerprint import image_toolchain_digest

    out: dict[str, str] = {}
    for use in image.models:
        if use.model_id in graph.nodes:
            out[f"model {use.name} framework"] = graph.get_as(use.model_id, ModelNode).spec.framework
    if image.environment_id is not None and image.environment_id in graph.nodes:
        env = graph.get(image.environment_id)
        out["environment"] = f"{env.name} {env.fingerprint[:12]}"
    script = image.scoring_script
    out["scoring script"] = f"{script.path} {script.sha256[:12]}" if script else "none"
    out["port"] = str(int(image.spec.port))
    spec = image.spec.model_dump(mode="json", by_alias=True, exclude={"models", "environment", "scoring", "port"})
    meta = image.metadata.model_dump(mode="json", by_alias=True)
    blob = json.dumps([spec, meta], sort_keys=True).encode()
    out["metadata and other fields"] = hashlib.sha256(blob).hexdigest()[:12]
    out["scoring runtime and Dockerfile templates"] = image_toolchain_digest()[:12]
    return out
