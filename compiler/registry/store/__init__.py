"""Artifact stores: a local folder (default) or an OCI registry."""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidArgument
from .base import ArtifactStore, Blob, ModelFile
from .local import LocalStore
from .oci import OciStore

__all__ = ["ArtifactStore", "Blob", "LocalStore", "ModelFile", "OciStore", "open_store"]


def open_store(url: str, root: Path) -> ArtifactStore:
    """`file://PATH` or a plain path (relative to the workspace root), or `oci://host[:port]/repo`."""
    if url.startswith("oci://"):
        return OciStore(url)
    if "://" in url and not url.startswith("file://"):
        raise InvalidArgument(f"unsupported artifact store {url!r}: use file://PATH or oci://HOST/REPO")
    path = Path(url.removeprefix("file://"))
    return LocalStore(path if path.is_absolute() else root / path)
