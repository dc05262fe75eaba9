"""Published bundles, one per deployment, each with a marker saying what it is and whose it is.

file://  <folder>/<deployment>/ holds the rendered files and `modelctl.json` (the marker, with the
         sha256 of every file). A new version is written beside the old one and swapped in by two
         renames, so a reader sees the old bundle, or the new one, or (after a crash between the
         renames) none — which the next plan shows as "publish" again.
oci://   a manifest tagged <deployment> in the repository: the files are layers (titled by path),
         the marker is the config blob, and the manifest's annotations repeat who owns it.

Only bundles whose marker names this workspace and modelctl are listed, replaced or removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from ...atomic import atomic_write_bytes, fsync_path
from ...errors import ApplyError
from .location import FileLocation, OciLocation

MARKER = "modelctl.json"
MARKER_MEDIA_TYPE = "application/vnd.modelctl.published.v1+json"
FILE_MEDIA_TYPE = "application/vnd.modelctl.published.file.v1"
ARTIFACT_TYPE = "application/vnd.modelctl.published.v1"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


@dataclass(frozen=True)
class Bundle:
    """A published bundle as read back: its marker, and whether its files still match it."""

    name: str
    marker: dict
    intact: bool
    where: str


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _ours(marker: dict, workspace: str) -> bool:
    return marker.get("managedBy") == "modelctl" and marker.get("workspace") == workspace


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class FileBundles:
    def __init__(self, location: FileLocation, workspace: str) -> None:
        self.folder, self.workspace = location.folder, workspace

    def close(self) -> None:
        pass

    def list(self) -> list[Bundle]:
        out: list[Bundle] = []
        if not self.folder.is_dir():
            return out
        for sub in sorted(p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            marker = self._marker(sub)
            if marker is None or not _ours(marker, self.workspace):
                continue
            files = {rel: data for rel, data in _files(sub).items() if rel != MARKER}
            intact = {rel: _sha256(data) for rel, data in files.items()} == marker.get("files")
            out.append(Bundle(sub.name, marker, intact, str(sub)))
        return out

    @staticmethod
    def _marker(folder: Path) -> dict | None:
        try:
            marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return marker if isinstance(marker, dict) else None

    def read(self, bundle: Bundle, rel: str) -> bytes | None:
        """One published file of a bundle as listed (None: not there)."""
        path = Path(bundle.where) / rel
        return path.read_bytes() if path.is_file() else None

    def put(self, name: str, source: Path, marker: dict) -> str:
        dest = self.folder / name
        if dest.exists() and not _ours(self._marker(dest) or {}, self.workspace):
            raise ApplyError(
                f"{dest} exists and is not a bundle modelctl published for workspace {self.workspace}; "
                "move it away or publish elsewhere"
            )
        self._sweep(name)
        new = self.folder / f".{name}.new-{secrets.token_hex(4)}"
        shutil.copytree(source, new)
        files = _files(new)
        marker = {**marker, "files": {rel: _sha256(data) for rel, data in files.items()}}
        atomic_write_bytes(new / MARKER, json.dumps(marker, sort_keys=True, indent=2).encode() + b"\n")
        _fsync_tree(new)
        old = self.folder / f".{name}.old-{secrets.token_hex(4)}"
        if dest.exists():
            os.rename(dest, old)
        os.rename(new, dest)
        shutil.rmtree(old, ignore_errors=True)
        return str(dest)

    def remove(self, name: str) -> None:
        dest = self.folder / name
        if not dest.exists():
            return
        if not _ours(self._marker(dest) or {}, self.workspace):
            raise ApplyError(f"{dest} is not a bundle modelctl published for workspace {self.workspace}; left in place")
        old = self.folder / f".{name}.old-{secrets.token_hex(4)}"
        os.rename(dest, old)
        shutil.rmtree(old, ignore_errors=True)
        self._sweep(name)

    def _sweep(self, name: str) -> None:
        """Leftovers of an interrupted put/remove of `name`."""
        if self.folder.is_dir():
            for leftover in self.folder.glob(f".{name}.*-*"):
                shutil.rmtree(leftover, ignore_errors=True)
        self.folder.mkdir(parents=True, exist_ok=True)


def _fsync_tree(folder: Path) -> None:
    for path in [*sorted(folder.rglob("*")), folder]:
        if path.is_file() or path.is_dir():
            fsync_path(path)


class OciBundles:
    def __init__(self, location: OciLocation, workspace: str) -> None:
        from ...registry.store.oci import OciStore

        self.store, self.workspace, self.url = OciStore(location.url), workspace, location.url

    def close(self) -> None:
        self.store.close()

    def list(self) -> list[Bundle]:
        out = []
        for tag in self.store.list_tags():
            found = self.store.get_manifest(tag)
            if found is None:
                continue
            manifest, _digest = found
            if manifest.get("artifactType") != ARTIFACT_TYPE:
                continue
            marker = json.loads(self.store.read_bytes(manifest["config"]["digest"]))
            if not _ours(marker, self.workspace):
                continue
            layers = {
                layer.get("annotations", {}).get("org.opencontainers.image.title"): layer["digest"]
                for layer in manifest.get("layers", [])
            }
            out.append(Bundle(tag, marker, layers == marker.get("files"), f"{self.url}:{tag}"))
        return out

    def read(self, bundle: Bundle, rel: str) -> bytes | None:
        """One published file of a bundle as listed (None: not there)."""
        digest = (bundle.marker.get("files") or {}).get(rel)
        return self.store.read_bytes(digest) if digest else None

    def put(self, name: str, source: Path, marker: dict) -> str:
        found = self.store.get_manifest(name)
        if found is not None and found[0].get("artifactType") != ARTIFACT_TYPE:
            raise ApplyError(f"{self.url}:{name} exists and is not a bundle modelctl published; left in place")
        layers, digests = [], {}
        for rel, data in _files(source).items():
            blob = self.store.put_bytes(data)
            digests[rel] = blob.digest
            layers.append(
                {
                    "mediaType": FILE_MEDIA_TYPE,
                    "digest": blob.digest,
                    "size": blob.size,
                    "annotations": {"org.opencontainers.image.title": rel},
                }
            )
        marker = {**marker, "files": digests}
        config = self.store.put_bytes(json.dumps(marker, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "artifactType": ARTIFACT_TYPE,
            "config": {"mediaType": MARKER_MEDIA_TYPE, "digest": config.digest, "size": config.size},
            "layers": layers,
            "annotations": {
                "io.modelctl.workspace": self.workspace,
                "io.modelctl.resource": marker["resource"],
                "io.modelctl.fingerprint": marker["fingerprint"],
            },
        }
        digest = self.store.put_manifest(name, manifest)
        return f"{self.url}:{name}@{digest}"

    def remove(self, name: str) -> None:
        found = self.store.get_manifest(name)
        if found is None:
            return
        if found[0].get("annotations", {}).get("io.modelctl.workspace") != self.workspace:
            raise ApplyError(
                f"{self.url}:{name} is not a bundle modelctl published for workspace {self.workspace}; left in place"
            )
        self.store.delete_manifest(name)


def open_bundles(location: FileLocation | OciLocation, workspace: str) -> FileBundles | OciBundles:
    return FileBundles(location, workspace) if isinstance(location, FileLocation) else OciBundles(location, workspace)
