"""The workspace lease lock: one apply at a time, renewed while running, taken over only from a
process that is provably gone (same host, pid not alive)."""

from __future__ import annotations

import getpass
import os
import re
import socket
import threading
from contextlib import contextmanager
from typing import Iterator

from ..errors import ApplyError
from .services import RegistryWriter

TTL_SECONDS = 60.0
OWNER = re.compile(r"^(?P<user>[^@]*)@(?P<host>.+) pid (?P<pid>\d+)$")


def owner_id() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()} pid {os.getpid()}"


def scope_for(workspace: str) -> str:
    return f"workspace/{workspace}"


def _gone(owner: str) -> bool:
    m = OWNER.match(owner)
    if not m or m["host"] != socket.gethostname():
        return False
    try:
        os.kill(int(m["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Lease:
    def __init__(self) -> None:
        self.lost = threading.Event()
        self.notes: list[str] = []


@contextmanager
def workspace_lock(
    registry: RegistryWriter,
    workspace: str,
    operation: str = "apply",
    ttl: float = TTL_SECONDS,
    scope: str | None = None,
) -> Iterator[Lease]:
    """scope: another lease than the apply lock (e.g. "reconcile/<workspace>" for reconcile loops)."""
    from ..registry import LockHeld, LockLost, NotFound

    scope, owner = scope or scope_for(workspace), owner_id()
    lease = Lease()
    try:
        lock = registry.acquire_lock(scope, owner, operation, ttl)
    except LockHeld as held:
        if not _gone(held.owner):
            raise ApplyError(
                f"another {operation} is running on workspace {workspace!r}: {held} — wait for it, or "
                f"if it is dead run 'modelctl locks release {scope}'"
            ) from None
        try:
            registry.force_release_lock(scope)
        except NotFound:
            pass
        lock = registry.acquire_lock(scope, owner, operation, ttl)
        lease.notes.append(f"took over the lock of {held.owner} (that process is gone)")
    stop = threading.Event()

    def renew() -> None:
        nonlocal lock
        while not stop.wait(ttl / 3):
            try:
                lock = registry.renew_lock(lock, ttl)
            except LockLost:
                lease.lost.set()
                return
            except Exception:  # noqa: BLE001 - a transient database error: try again next period
                continue

    thread = threading.Thread(target=renew, name="modelctl-lock-renewal", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join(timeout=5)
        try:
            registry.release_lock(lock)
        except LockLost:
            pass
