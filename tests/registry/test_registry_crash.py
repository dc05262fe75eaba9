"""A registration SIGKILLed mid-write leaves no partial blob and no row pointing at a missing blob."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from testkit import wait_until

from compiler.registry import open_registry
from compiler.registry.store.base import CHUNK  # written between two throttle pauses

CHILD = """
import sys
from pathlib import Path
from compiler.registry import open_registry
url, root, src = sys.argv[1:4]
with open_registry(url, "file://artifacts", Path(root)) as reg:
    reg.register_model("big", Path(src), framework="custom")
"""


def _make_model(folder: Path, seed: int, files: int = 6, size: int = 3 * 1024 * 1024) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i in range(files):
        (folder / f"part-{i}.bin").write_bytes(rng.randbytes(size))
    return folder


def _spawn(url: str, root: Path, src: Path, throttle: float) -> subprocess.Popen:
    env = dict(os.environ, MODELCTL_STORE_THROTTLE_SECONDS=str(throttle))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(root), str(src)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _assert_consistent(url: str, root: Path) -> int:
    """Every visible blob hashes to its name; every row's blobs exist and verify. Returns the row count."""
    blobs = root / "artifacts" / "blobs" / "sha256"
    for blob in blobs.rglob("*"):
        if blob.is_file():
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name, f"partial blob visible: {blob}"
    with open_registry(url, "file://artifacts", root) as reg:
        models = reg.list_models(include_archived=True, limit=1000)
        for model in models:
            manifest = json.loads(reg.store.read_bytes(model.digest))  # verified read
            for digest in manifest["files"].values():
                assert reg.store.has(digest), f"{model.ref} points at missing blob {digest}"
        return len(models)


def _parts(root: Path) -> list[Path]:
    return list((root / "artifacts" / "tmp").glob("*.part"))


def _blobs(root: Path) -> set[str]:
    return {p.name for p in (root / "artifacts" / "blobs" / "sha256").rglob("*") if p.is_file()}


def _alive(proc: subprocess.Popen) -> bool:
    assert proc.poll() is None, f"the child ended ({proc.returncode}) first: {proc.stderr.read().decode()}"
    return True


def _wait_for_temp(root: Path, proc: subprocess.Popen, timeout: float = 30) -> None:
    wait_until(
        lambda: _alive(proc) and _parts(root),
        timeout=timeout,
        interval=0.005,
        message="the child started writing a blob (a *.part file in artifacts/tmp)",
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed into blobs/ meanwhile
        return -1


def _wait_mid_blobs(root: Path, proc: subprocess.Popen, before: set[str], timeout: float = 30) -> None:
    """Until the child has stored a blob of the new version and is at most one chunk into the next:
    at least two throttled chunks (0.1 s) from finishing it, so a kill now interrupts that write."""

    def mid_write() -> bool:
        return _alive(proc) and bool(_blobs(root) - before) and any(0 <= _size(p) <= CHUNK for p in _parts(root))

    wait_until(
        mid_write,
        timeout=timeout,
        interval=0.005,
        message="the child stored a new blob and began the next (a *.part of at most one chunk)",
    )


def test_sigkill_mid_blob_write(registry_url, tmp_path):
    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        reg.register_model("big", _make_model(tmp_path / "v1", seed=1, files=1, size=1000), framework="custom")
    src = _make_model(tmp_path / "v2", seed=2)
    before = _blobs(tmp_path)
    proc = _spawn(registry_url, tmp_path, src, throttle=0.05)
    _wait_mid_blobs(tmp_path, proc, before)  # well inside the throttled write of the blobs
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert list((tmp_path / "artifacts" / "tmp").glob("*.part")), "the kill should have interrupted a write"
    assert _assert_consistent(registry_url, tmp_path) == 1  # only version 1; no row for the killed one

    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        model, created = reg.register_model("big", src, framework="custom")
        assert created and model.version == 2
        out = reg.materialize_model("big", 2, tmp_path / "out")
        assert sorted(p.name for p in out) == sorted(p.name for p in src.iterdir())
        assert (tmp_path / "out" / "part-0.bin").read_bytes() == (src / "part-0.bin").read_bytes()


def test_sigkill_at_random_moments(registry_url, tmp_path):
    rng = random.Random(20261125)
    src = _make_model(tmp_path / "src", seed=3, files=4, size=1024 * 1024)
    survived = 0
    for round_ in range(6):
        (src / "part-0.bin").write_bytes(rng.randbytes(1024 * 1024))  # new content each round
        proc = _spawn(registry_url, tmp_path, src, throttle=0.08)  # ~0.3 s of blob writes, then the DB
        _wait_for_temp(tmp_path, proc)
        time.sleep(rng.uniform(0.0, 0.6))  # the kill's moment is what is tested: it lands in blob
        # writes, the manifest, the transaction, or after
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        survived += proc.returncode == 0
        rows = _assert_consistent(registry_url, tmp_path)
        # Finished registrations have their row; a kill after the commit may leave one more.
        assert survived <= rows <= round_ + 1
    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        (src / "part-0.bin").write_bytes(b"final")
        model, created = reg.register_model("big", src, framework="custom")
        assert created and model.version == _assert_consistent(registry_url, tmp_path)
