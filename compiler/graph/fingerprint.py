"""Fingerprints: a node's hash covers its spec, the files it uses and its parents' fingerprints.

So a model file change shows as a change of every image and deployment that uses it (as in
SQLMesh's snapshot fingerprints), and an unchanged node is never rebuilt.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from pydantic import BaseModel

from ..digest import canonical_sha256, tree_manifest
from ..paths import RUNTIME_DIR, TEMPLATES_DIR
from ..spec.common import Metadata
from .nodes import FileRef

FINGERPRINT_VERSION = 1


def fingerprint(
    kind: str,
    metadata: Metadata,
    spec: BaseModel,
    *,
    files: Iterable[FileRef | None] = (),
    parents: Iterable[str] = (),
    extra: dict | None = None,
) -> str:
    payload = {
        "v": FINGERPRINT_VERSION,
        "kind": kind,
        "metadata": metadata.model_dump(mode="json", exclude_none=True),
        "spec": spec.model_dump(mode="json", exclude_none=True),
        "files": sorted([f.path, f.sha256] for f in files if f is not None),
        "parents": sorted(parents),
        "extra": extra or {},
    }
    return canonical_sha256(payload)


@lru_cache(maxsize=1)
def image_toolchain_digest() -> str:
    """What every built image also depends on: the scoring runtime and the Dockerfile templates."""
    parts = {}
    for folder, label in ((RUNTIME_DIR, "runtime"), (TEMPLATES_DIR / "docker", "templates/docker")):
        if folder.is_dir():
            manifest = {k: v for k, v in tree_manifest(folder).items() if "__pycache__" not in k}
            parts[label] = manifest
    return canonical_sha256(parts)
