"""Local folder artifact store: blobs/sha256/ab/abcdef…, written atomically, verified on read."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from ..errors import DigestMismatch, NotFound
from .base import CHUNK, Blob, ModelFile, fsync_dir, split_digest, write_hashing, write_stream_atomically

STALE_TEMP_SECONDS = 3600
# Test hook for the crash test: seconds to sleep after each chunk written (0 = off).
THROTTLE_ENV = "MODELCTL_STORE_THROTTLE_SECONDS"


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root = root.absolute()
        self.url = root.as_uri()
        self._blobs = root / "blobs" / "sha256"
        self._tmp = root / "tmp"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        self._throttle = float(os.environ.get(THROTTLE_ENV, "0") or 0)
        self._remove_stale_temps()

    def _path(self, digest: str) -> Path:
        hexpart = split_digest(digest)
        return self._blobs / hexpart[:2] / hexpart

    def _remove_stale_temps(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for part in self._tmp.glob("*.part"):
            try:
                if part.stat().st_mtime < cutoff:
                    part.unlink()
            except FileNotFoundError:
                pass

    def put_file(self, path: Path) -> Blob:
        with open(path, "rb") as src:
            return self._put_stream(iter(lambda: src.read(CHUNK), b""))

    def put_bytes(self, data: bytes) -> Blob:
        return self._put_stream(iter([data]))

    def _put_stream(self, chunks) -> Blob:  # noqa: ANN001
        """Copy to tmp/ while hashing, fsync, then rename to blobs/ under the computed digest."""
        tmp = self._tmp / f"{os.getpid()}-{os.urandom(6).hex()}.part"
        try:
            blob = write_hashing(chunks, tmp, (lambda: time.sleep(self._throttle)) if self._throttle else None)
            final = self._path(blob.digest)
            if not final.exists():  # content-addressed: same digest, same bytes
                final.parent.mkdir(exist_ok=True)
                os.chmod(tmp, 0o444)
                os.replace(tmp, final)
                fsync_dir(final.parent)
            return blob
        finally:
            tmp.unlink(missing_ok=True)

    def has(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def _open(self, digest: str):  # noqa: ANN202
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise NotFound("blob", digest) from None

    def read_bytes(self, digest: str) -> bytes:
        with self._open(digest) as f:
            data = f.read()
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise DigestMismatch(digest, actual, f"blob in {self.url}")
        return data

    def fetch(self, digest: str, dest: Path) -> None:
        with self._open(digest) as f:
            write_stream_atomically(iter(lambda: f.read(CHUNK), b""), dest, digest)

    def publish(self, model_digest: str, files: list[ModelFile], tree: Blob | None) -> None:
        """Nothing to do: local blobs are never garbage-collected behind our back."""

    def close(self) -> None:
        pass
