"""Write a rendered tree into a temp dir beside `out`, then swap it in (never a half-written out)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import orjson

from ..diagnostics import Diagnostic, DiagnosticError
from .tree import OutputFile, OutputTree

MANIFEST = "manifest.json"
GENERATOR = "modelctl render"


def check_out_dir(out: Path, repo_root: Path) -> None:
    """Refuse an `out` whose old content we would delete but did not write: it must be new, empty or ours."""
    out = out.resolve()
    problem = None
    if out == Path(out.anchor) or repo_root.resolve().is_relative_to(out):
        problem = f"--out {out} contains the repo itself"
    elif out.exists() and not out.is_dir():
        problem = f"--out {out} exists and is not a folder"
    elif out.is_dir() and any(out.iterdir()) and not _is_render_output(out):
        problem = f"--out {out} is a folder with other content (no {MANIFEST} from a previous render)"
    if problem:
        raise DiagnosticError(
            [Diagnostic(problem, code="bad-out-dir", suggestion="pass a new or empty folder, e.g. --out build/render")]
        )


def _is_render_output(out: Path) -> bool:
    try:
        return orjson.loads((out / MANIFEST).read_bytes()).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):  # orjson.JSONDecodeError is a ValueError
        return False


Stat = tuple[int, int, int]  # size, mtime_ns, inode: what a warm render checks (cache.py)


def publish(tree: OutputTree, out: Path) -> dict[str, Stat]:
    """Write the tree beside `out` and swap it in; returns each written file's stat (renames keep them)."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.render-"))
    try:
        os.chmod(tmp, 0o755)
        stats = _write_all(tree, tmp)
        _swap(tmp, out)
        return stats
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_all(tree: OutputTree, root: Path) -> dict[str, Stat]:
    base = str(root)
    made: set[str] = {""}
    for item in tree.files.values():
        folder = item.path.rpartition("/")[0]
        if folder not in made:
            os.makedirs(f"{base}/{folder}", exist_ok=True)
            made.update(_parents(folder))
    stats = _write_files(base, tree.files.values())  # (writer threads measured no faster here)
    for folder in made:
        os.chmod(f"{base}/{folder}" if folder else base, 0o755)
    _fsync_tree(root)
    return stats


def _write_files(base: str, items: Iterable[OutputFile]) -> dict[str, Stat]:
    stats: dict[str, Stat] = {}
    for item in items:
        path = f"{base}/{item.path}"
        if item.data is None:
            _copy_or_link(item, path)
            st = os.stat(path)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                _write_fully(fd, item.data)
                if _UMASK & 0o644:  # the umask took permission bits away: set them on the open file
                    os.fchmod(fd, 0o644)
                st = os.fstat(fd)
            finally:
                os.close(fd)
        stats[item.path] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return stats


def _copy_or_link(item: OutputFile, path: str) -> None:
    source = item.kept_from or item.source
    assert source is not None  # OutputTree.add() sets data, copy() sets source, keep() kept_from
    if item.kept_from is not None:
        try:
            os.link(item.kept_from, path)  # a file kept from the last render: same bytes, same inode
            return
        except OSError:
            pass  # e.g. a file system without hard links: copy it
    shutil.copyfile(source, path)
    os.chmod(path, 0o644)  # readable by the image's non-root user after COPY


def _parents(folder: str) -> list[str]:
    parts = folder.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _write_fully(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()  # read once at import (os.umask can only be read by setting it)


def _fsync_tree(root: Path) -> None:
    """Flush the new files to disk (one syncfs(2) for the file system) before the rename shows them."""
    fd = os.open(root, os.O_RDONLY)
    try:
        if _libc_syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _libc_syncfs(fd: int) -> int:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).syncfs(fd)
    except (OSError, AttributeError):
        return -1


def _swap(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.rmdir(old)
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)
