"""Warm renders: a node whose inputs did not change keeps the files it rendered last time.

A render into `out` records, per node, a key (the node's fingerprint + what else its files depend on
+ the renderer's own code) and the files it wrote there with their sha256 and `(size, mtime, inode)`.
The record is `.modelctl/cache/render/<digest of out>.json` in the repo (written atomically; deleting
it only makes the next render cold). The next render into the same `out` renders only the nodes
whose key changed, or whose files in `out` no longer look as written (the stat check git's index
uses), and hard-links the other nodes' files from the old `out` into the new one; when nothing
changed at all, `out` is left as it is.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import orjson

from ..digest import canonical_sha256, file_sha256, sha256_bytes
from ..graph import DeploymentNode, Graph, ImageNode, ModelNode
from ..paths import PROJECT_ROOT, TEMPLATES_DIR
from .publish import Stat
from .tree import is_plain_path

CACHE_DIR = Path(".modelctl/cache/render")
INDEX_VERSION = 2
KEEP_RECORDS = 16  # output folders remembered per repo (the oldest record goes first)
_RENDERER_SOURCES = ("compiler/render", "compiler/targets", "compiler/graph/nodes.py", "compiler/spec")


@lru_cache(maxsize=1)
def renderer_version() -> str:
    """A digest of the code and templates that turn nodes into files: new code → every node re-renders."""
    files: dict[str, str] = {}
    for rel in _RENDERER_SOURCES:
        path = PROJECT_ROOT / rel
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            files[f.relative_to(PROJECT_ROOT).as_posix()] = file_sha256(f)
    for f in sorted(p for p in TEMPLATES_DIR.rglob("*") if p.is_file()):
        files[f.relative_to(PROJECT_ROOT).as_posix()] = file_sha256(f)
    return canonical_sha256(files)


def node_keys(graph: Graph, ids: list[str], model_versions: Mapping[str, str] | None) -> dict[str, str]:
    """Per node, the digest of everything its rendered files are made from.

    The fingerprint covers the node's spec, files and parents; rendering also reads the Workspace
    (names, image registry, base images), the model versions passed in and, for an image and its
    deployments, the files of the models it uses (a pinned use's fingerprint names the version, not
    the file; an FPGA deployment copies the compiled model).
    """
    shared = sha256_bytes(
        orjson.dumps(
            [
                renderer_version(),
                graph.root,
                graph.workspace.name,
                graph.workspace.spec.model_dump(mode="json"),
                sorted((model_versions or {}).items()),
            ]
        )
    )
    keys = {}
    for node_id in ids:
        node = graph.get(node_id)
        extra: list[str] = []
        image = graph.get(node.image_id) if isinstance(node, DeploymentNode) else node
        if isinstance(image, ImageNode):
            for use in image.models:
                model = graph.get(use.model_id)
                if isinstance(model, ModelNode):
                    extra += [f.sha256 for f in (model.artifact, model.compiled) if f is not None]
        keys[node_id] = f"{shared[:32]}:{node.fingerprint}:{','.join(extra)}"  # node ids are the record's keys
    return keys


@dataclass(frozen=True)
class KeptFile:
    path: str
    sha256: str


@dataclass
class RenderIndex:
    """What the last render into one `out` wrote: node → key, object count, files (path, sha256, stat)."""

    location: Path
    nodes: dict[str, dict]

    @classmethod
    def load(cls, repo_root: Path, out: Path) -> RenderIndex:
        location = repo_root / CACHE_DIR / f"{sha256_bytes(str(out.resolve()).encode())[:32]}.json"
        try:
            data = orjson.loads(location.read_bytes())
            if data.get("version") == INDEX_VERSION and isinstance(data.get("nodes"), dict):
                return cls(location, data["nodes"])
        except (OSError, orjson.JSONDecodeError, AttributeError):
            pass
        return cls(location, {})

    def reusable(self, out: Path, keys: Mapping[str, str]) -> dict[str, tuple[int, list[KeptFile]]]:
        """Nodes whose key is unchanged and whose files in `out` still look as written."""
        kept: dict[str, tuple[int, list[KeptFile]]] = {}
        if not out.is_dir():
            return kept
        with _Folders(str(out)) as folders:
            for node_id, key in keys.items():
                entry = self.nodes.get(node_id)
                if entry is None or entry.get("key") != key:
                    continue
                files = entry.get("files", [])
                if all(is_plain_path(path) and folders.stat(path) == tuple(stat) for path, _sha, stat in files):
                    kept[node_id] = (entry.get("objects", 0), [KeptFile(path, sha) for path, sha, _stat in files])
        return kept

    def save(
        self,
        keys: Mapping[str, str],
        objects: Mapping[str, int],
        files: Mapping[str, list[tuple[str, str]]],
        stats: Mapping[str, Stat],
        out: Path,
    ) -> None:
        """Record what `out` now holds (files with the stats publish saw), atomically; best effort."""
        nodes = {}
        for node_id, key in keys.items():
            listed = [[path, sha, list(stats[path])] for path, sha in files.get(node_id, []) if path in stats]
            if len(listed) == len(files.get(node_id, [])):
                nodes[node_id] = {"key": key, "objects": objects.get(node_id, 0), "files": listed}
        data = orjson.dumps({"version": INDEX_VERSION, "out": str(out), "nodes": nodes})
        try:
            self.location.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.location.parent, prefix=".index-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, self.location)
            except BaseException:
                os.unlink(tmp)
                raise
            _prune(self.location.parent)
        except OSError:
            pass  # a cache that cannot be written only costs the next render its warm start


def _prune(folder: Path) -> None:
    """Keep the records of the most recently rendered KEEP_RECORDS output folders of a repo."""
    records = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for stale in records[KEEP_RECORDS:]:
        stale.unlink(missing_ok=True)


class _Folders:
    """stat() of files under one root, each folder opened once (fstatat on its descriptor: no path walk)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.fds: dict[str, int | None] = {}

    def __enter__(self) -> _Folders:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.fds.values():
            if fd is not None:
                os.close(fd)

    def stat(self, path: str) -> Stat | None:
        folder, _, name = path.rpartition("/")
        if folder not in self.fds:
            try:
                self.fds[folder] = os.open(f"{self.root}/{folder}", os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                self.fds[folder] = None
        fd = self.fds[folder]
        if fd is None or not name or "/" in name:
            return None
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns, st.st_ino)
