"""Where collected records go: a partitioned folder of JSON Lines files, or an HTTP endpoint.

A sink's write() takes one batch already encoded by the collector's writer thread, grouped by
partition: {(model, version, hours since the epoch (UTC), collection): [record JSON bytes, ...]}.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

import orjson

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
DUMP_OPTS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC


def _default(obj):
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    tolist = getattr(obj, "tolist", None)  # numpy scalars and non-contiguous arrays
    if tolist is not None:
        return tolist()
    return str(obj)


def encode_record(record: dict) -> bytes:
    return orjson.dumps(record, default=_default, option=DUMP_OPTS)


def _segment(value: str) -> str:
    return _UNSAFE.sub("_", value).lstrip(".") or "_"  # one path segment, never hidden, never ".."


class FileSink:
    """root/<model>/<version>/<yyyy>/<mm>/<dd>/<hh>/<collection>-<time>-<pid>-<seq>-<rand>.jsonl

    One file per batch and partition, written to a dot-prefixed temp name, fsynced and renamed, so
    readers never see a partial file and names never collide across workers.

    The writer holds an exclusive flock on its temp file until it is renamed. A writer killed
    mid-write (OOM, SIGKILL) leaves its temp file behind, unlocked: sweep(), run by every worker when
    it starts, removes such files. The lock, not the pid in the name, tells a dead writer's file from
    a live one: containers that share the volume (blue/green) have their own pid namespaces.
    """

    TMP_MIN_AGE = 60.0  # seconds; a live writer locks its file within microseconds of creating it

    def __init__(self, root: Path):
        self.root = root
        self._seq = itertools.count()

    def write(self, groups: dict[tuple, list[bytes]]) -> None:
        """groups: (model, version, hours since the epoch (UTC), collection) -> encoded records."""
        for (model, version, hours, collection), lines in groups.items():
            hour = datetime.fromtimestamp(hours * 3600, timezone.utc).strftime("%Y/%m/%d/%H")
            folder = self.root / _segment(model) / _segment(version) / hour
            name = (
                f"{_segment(collection)}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}"
                f"-{next(self._seq)}-{uuid.uuid4().hex[:8]}.jsonl"
            )
            tmp = folder / f".{name}.tmp"
            try:
                f = open(tmp, "xb")
            except FileNotFoundError:  # a new partition (once an hour): create it only then
                folder.mkdir(parents=True, exist_ok=True)
                f = open(tmp, "xb")
            with f:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when closed (or when this process dies)
                f.write(b"\n".join(lines))
                f.write(b"\n")
                f.flush()
                os.fsync(f.fileno())
                os.replace(tmp, folder / name)
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def sweep(self, started: float | None = None) -> int:
        """Remove dead writers' temp files: dot-prefixed `.tmp` files that nobody holds a lock on and
        that are older than `started` (this process's start) and TMP_MIN_AGE. Returns how many."""
        cutoff = min(time.time() - self.TMP_MIN_AGE, started if started is not None else time.time())
        removed = 0
        stack = [str(self.root)]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif (
                        entry.name.startswith(".")
                        and entry.name.endswith(".tmp")
                        and entry.stat(follow_symlinks=False).st_mtime < cutoff
                        and _remove_unlocked(entry.path)
                    ):
                        removed += 1
                except OSError:
                    continue
        return removed


def _remove_unlocked(path: str) -> bool:
    """Unlink `path` if no process holds a lock on it (checked on the same inode while holding ours)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds it
        if os.stat(path, follow_symlinks=False).st_ino != os.fstat(fd).st_ino:
            return False  # renamed and replaced meanwhile: not the file we locked
        os.unlink(path)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class HttpSink:
    """POSTs each batch as {"records": [...]} JSON; retries with backoff, then gives up (counted as drops)."""

    def __init__(self, url: str, attempts: int = 4, timeout: float = 10.0):
        self.url = url
        self.attempts = attempts
        self.timeout = timeout

    def write(self, groups: dict[tuple, list[bytes]]) -> None:
        body = b'{"records":[' + b",".join(line for lines in groups.values() for line in lines) + b"]}"
        request = urllib.request.Request(
            self.url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        delay = 0.25
        for attempt in range(self.attempts):
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    if 200 <= resp.status < 300:
                        return
            except urllib.error.HTTPError as exc:
                if 400 <= exc.code < 500 and exc.code not in (408, 429):
                    raise  # the sink refuses this batch; retrying will not help
            except (urllib.error.URLError, OSError):
                pass
            if attempt < self.attempts - 1:
                time.sleep(delay)
                delay *= 2
        raise OSError(f"HTTP sink {self.url} did not accept the batch after {self.attempts} attempts")


def make_sink(uri: str):
    if uri.startswith("file://"):
        return FileSink(Path(uri[len("file://") :]))
    return HttpSink(uri)
