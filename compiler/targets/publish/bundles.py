"""Published bundles, one per deployment, each with a marker saying what it is and whose it is.
Every publish keeps the earlier versions (revisions) beside the current one, for `modelctl rollback`.

file://  <folder>/.revisions/<deployment>/<fp12>/ holds one revision: the rendered files and
         `modelctl.json` (the marker, with the sha256 of every file). <folder>/<deployment> is the
         current pointer: a relative symlink to one revision, replaced atomically (rename), so a
         reader of <folder>/<deployment>/deployment.json sees the old bundle or the new one. A
         revision is written beside the others and renamed into place; the newest KEEP_REVISIONS
         are kept. A rollback writes `.revisions/<deployment>/rollback.json` (the mark), then
         re-points.
oci://   a manifest per revision tagged <deployment>.<fp12> (a dot never occurs in a deployment's
         name), and the moving tag <deployment> on the current one: the files are layers (titled by
         path), the marker is the config blob, and the manifest's annotations repeat who owns it. A
         rollback pushes the revision's manifest under <deployment> with the mark as an annotation.

Only bundles whose marker names this workspace and modelctl are listed, replaced or removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...atomic import atomic_write_bytes, fsync_path
from ...errors import ApplyError
from .location import FileLocation, OciLocation

MARKER = "modelctl.json"
MARKER_MEDIA_TYPE = "application/vnd.modelctl.published.v1+json"
FILE_MEDIA_TYPE = "application/vnd.modelctl.published.file.v1"
ARTIFACT_TYPE = "application/vnd.modelctl.published.v1"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
REVISIONS = ".revisions"
ROLLBACK_NOTE = "rollback.json"
ROLLBACK_ANNOTATION = "io.modelctl.rollback"
KEEP_REVISIONS = 10  # file://: the newest revisions kept per deployment (the current one always)
REVISION_KEY = re.compile(r"^[0-9a-zA-Z]{1,12}$")


@dataclass(frozen=True)
class Bundle:
    """A published bundle as read back: its marker, and whether its files still match it."""

    name: str
    marker: dict
    intact: bool
    where: str
    rollback: dict | None = None  # the current pointer's rollback mark, as written (see RollbackMark)


BundleList = list[Bundle]  # (a method of the stores is called `list`)


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _ours(marker: dict, workspace: str) -> bool:
    return marker.get("managedBy") == "modelctl" and marker.get("workspace") == workspace


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def revision_key(fingerprint: str) -> str:
    """A revision's folder and tag suffix: the fingerprint's first 12 characters."""
    key = str(fingerprint)[:12]
    if not REVISION_KEY.match(key):
        raise ApplyError(f"not a fingerprint: {fingerprint!r}")
    return key


def _key(marker: dict, files: dict[str, bytes]) -> str:
    """The revision a bundle is kept as: its fingerprint's, else (a marker without one) its content's."""
    if marker.get("fingerprint"):
        return revision_key(marker["fingerprint"])
    content = json.dumps({rel: _sha256(data) for rel, data in files.items() if rel != MARKER}, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()[:12]


def _published_at(bundle: Bundle) -> str:
    return str(bundle.marker.get("publishedAt") or "")


class FileBundles:
    def __init__(self, location: FileLocation, workspace: str) -> None:
        self.folder, self.workspace = location.folder, workspace

    def close(self) -> None:
        pass

    def _history(self, name: str) -> Path:
        return self.folder / REVISIONS / name

    def list(self) -> list[Bundle]:
        out: list[Bundle] = []
        if not self.folder.is_dir():
            return out
        inside = self.folder.resolve()
        for sub in sorted(p for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if sub.is_symlink() and not sub.resolve().is_relative_to(inside):
                continue  # a pointer leading out of the folder is none of ours: never read through it
            bundle = self._read(sub, sub.name)
            if bundle is not None:
                note = self._json(self._history(sub.name) / ROLLBACK_NOTE)
                out.append(Bundle(bundle.name, bundle.marker, bundle.intact, bundle.where, note))
        return out

    def revisions(self, name: str) -> BundleList:
        """Every revision kept for the deployment, newest first."""
        history = self._history(name)
        if not history.is_dir():
            return []
        found = [
            b
            for sub in history.iterdir()
            if sub.is_dir() and not sub.is_symlink() and not sub.name.startswith(".")
            if (b := self._read(sub, name)) is not None
        ]
        return sorted(found, key=_published_at, reverse=True)

    def _read(self, folder: Path, name: str) -> Bundle | None:
        marker = self._marker(folder)
        if marker is None or not _ours(marker, self.workspace):
            return None
        files = {rel: data for rel, data in _files(folder).items() if rel != MARKER}
        intact = {rel: _sha256(data) for rel, data in files.items()} == marker.get("files")
        return Bundle(name, marker, intact, str(folder))

    @staticmethod
    def _json(path: Path) -> dict | None:
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    @classmethod
    def _marker(cls, folder: Path) -> dict | None:
        return cls._json(folder / MARKER)

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
        history = self._history(name)
        history.mkdir(parents=True, exist_ok=True)
        if dest.is_dir() and not dest.is_symlink():  # published by an earlier version: kept as a revision
            self._replace(history, _key(self._marker(dest) or {}, _files(dest)), dest)
        new = history / f".new-{secrets.token_hex(4)}"
        shutil.copytree(source, new)
        files = _files(new)
        key = _key(marker, files)
        marker = {**marker, "files": {rel: _sha256(data) for rel, data in files.items()}}
        atomic_write_bytes(new / MARKER, json.dumps(marker, sort_keys=True, indent=2).encode() + b"\n")
        _fsync_tree(new)
        self._replace(history, key, new)
        self._point(name, key)
        (history / ROLLBACK_NOTE).unlink(missing_ok=True)  # published from git: no longer rolled back
        self._prune(name, key)
        return str(dest)

    def repoint(self, name: str, fingerprint: str, mark: dict[str, Any]) -> str:
        """Make a kept revision the current one again, with the rollback mark beside it."""
        key = revision_key(fingerprint)
        found = self._read(self._history(name) / key, name)
        if found is None or found.marker.get("fingerprint") != fingerprint:
            raise ApplyError(f"Deployment/{name}: revision {key} is not kept at {self._history(name)}")
        if not found.intact:
            raise ApplyError(
                f"Deployment/{name}: the files of revision {key} at {found.where} were changed since it was "
                "published; refusing to roll back to it"
            )
        atomic_write_bytes(self._history(name) / ROLLBACK_NOTE, json.dumps(mark, sort_keys=True).encode() + b"\n")
        self._point(name, key)
        return str(self.folder / name)

    def _replace(self, history: Path, key: str, new: Path) -> None:
        """Move `new` to history/key (a revision republished after a change by hand replaces it)."""
        rev = history / key
        old = history / f".{key}.old-{secrets.token_hex(4)}"
        if rev.exists():
            os.rename(rev, old)
        os.rename(new, rev)
        shutil.rmtree(old, ignore_errors=True)

    def _point(self, name: str, key: str) -> None:
        """Swap the current pointer <folder>/<name> to revision `key` in one rename."""
        link = self.folder / f".{name}.link-{secrets.token_hex(4)}"
        os.symlink(f"{REVISIONS}/{name}/{key}", link, target_is_directory=True)
        os.replace(link, self.folder / name)
        fsync_path(self.folder)

    def _prune(self, name: str, current: str) -> None:
        for old in self.revisions(name)[KEEP_REVISIONS:]:
            if Path(old.where).name != current:
                shutil.rmtree(old.where, ignore_errors=True)

    def remove(self, name: str) -> None:
        dest = self.folder / name
        if not dest.exists() and not dest.is_symlink():
            return
        if dest.exists() and not _ours(self._marker(dest) or {}, self.workspace):
            raise ApplyError(f"{dest} is not a bundle modelctl published for workspace {self.workspace}; left in place")
        old = self.folder / f".{name}.old-{secrets.token_hex(4)}"
        os.rename(dest, old)
        if old.is_symlink():
            old.unlink()
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self._history(name), ignore_errors=True)
        self._sweep(name)
        try:
            (self.folder / REVISIONS).rmdir()  # only when no other deployment keeps revisions
        except OSError:
            pass

    def _sweep(self, name: str) -> None:
        """Leftovers of an interrupted put/remove of `name`."""
        if self.folder.is_dir():
            for leftover in self.folder.glob(f".{name}.*-*"):
                if leftover.is_symlink():
                    leftover.unlink()
                shutil.rmtree(leftover, ignore_errors=True)
            history = self._history(name)
            for leftover in history.glob(".*-*") if history.is_dir() else ():
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
        """The moving tags (<deployment>), each with the bundle it points at now."""
        return [b for tag in self.store.list_tags() if "." not in tag if (b := self._read(tag, tag)) is not None]

    def revisions(self, name: str) -> BundleList:
        """Every revision tag (<deployment>.<fp12>) of the deployment, newest first."""
        found = [
            b
            for tag in self.store.list_tags()
            if tag.startswith(f"{name}.")
            if (b := self._read(tag, name)) is not None
        ]
        return sorted(found, key=_published_at, reverse=True)

    def _read(self, tag: str, name: str) -> Bundle | None:
        found = self.store.get_manifest(tag)
        if found is None:
            return None
        manifest, _digest = found
        if manifest.get("artifactType") != ARTIFACT_TYPE:
            return None
        marker = json.loads(self.store.read_bytes(manifest["config"]["digest"]))
        if not _ours(marker, self.workspace):
            return None
        layers = {
            layer.get("annotations", {}).get("org.opencontainers.image.title"): layer["digest"]
            for layer in manifest.get("layers", [])
        }
        try:
            note = json.loads(manifest.get("annotations", {}).get(ROLLBACK_ANNOTATION) or "null")
        except ValueError:
            note = None
        return Bundle(name, marker, layers == marker.get("files"), f"{self.url}:{tag}", note)

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
        self.store.put_manifest(f"{name}.{revision_key(marker['fingerprint'])}", manifest)  # the revision first
        digest = self.store.put_manifest(name, manifest)
        return f"{self.url}:{name}@{digest}"

    def repoint(self, name: str, fingerprint: str, mark: dict[str, Any]) -> str:
        """Point the moving tag at a kept revision again: its manifest, with the rollback mark annotated."""
        tag = f"{name}.{revision_key(fingerprint)}"
        found = self._read(tag, name)
        if found is None or found.marker.get("fingerprint") != fingerprint:
            raise ApplyError(f"Deployment/{name}: revision {tag} is not kept at {self.url}")
        if not found.intact:
            raise ApplyError(
                f"Deployment/{name}: {self.url}:{tag} does not match its marker; refusing to roll back to it"
            )
        manifest, _ = self.store.get_manifest(tag) or ({}, "")
        manifest = {
            **manifest,
            "annotations": {**manifest.get("annotations", {}), ROLLBACK_ANNOTATION: json.dumps(mark, sort_keys=True)},
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
        for revision in self.revisions(name):
            self.store.delete_manifest(revision.where.rsplit(":", 1)[1])


def open_bundles(location: FileLocation | OciLocation, workspace: str) -> FileBundles | OciBundles:
    return FileBundles(location, workspace) if isinstance(location, FileLocation) else OciBundles(location, workspace)
