"""Desired names that plan and apply agree on: image references, model digests as the registry computes them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..graph import Graph, ImageNode, ModelNode
from ..names import default_keys_secret


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


def secret_refs(deployment: str, spec: Any) -> tuple[str, ...]:
    """The secrets a deployment's containers read, as ids `name` or `name/key` (never values)."""
    refs = {f"{r.secret_ref}/{r.key}" for r in spec.secret_env.values()}
    if spec.auth.mode in ("key", "token"):
        refs.add(spec.auth.secret_ref or default_keys_secret(deployment))
    return tuple(sorted(refs))


def secret_digest(workspace: str, ref: str, value: str) -> str:
    """What a container records of a secret value it was started with, so that a rotation shows in
    the plan. A hash, never the value; whoever can read it (Docker API access) can read the mounted
    secret itself."""
    data = b"\0".join([b"modelctl-secret-v1", workspace.encode(), ref.encode(), value.encode()])
    return "sha256:" + hashlib.sha256(data).hexdigest()


def secrets_revision(digests: dict[str, str]) -> str:
    """A short name suffix for one set of secret values (empty without secrets): containers started
    with rotated values get new names, so a rotation is a blue/green roll like any other."""
    if not digests:
        return ""
    joined = "\n".join(f"{ref}={d}" for ref, d in sorted(digests.items()))
    return hashlib.sha256(joined.encode()).hexdigest()[:6]
