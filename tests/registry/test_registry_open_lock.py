"""Opening an up-to-date registry only reads its schema version: no write lock, so read-only commands
run while another process writes. (An older schema is still migrated on open:
test_registry_migrations.py.)"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from compiler.registry import open_registry
from compiler.registry.migrations import LATEST

OPEN_DEADLINE_SECONDS = 15


@contextmanager
def write_lock_held(registry_url: str):
    """Another connection in a write transaction, holding what a migration would wait for."""
    if registry_url.startswith("sqlite"):
        conn = sqlite3.connect(registry_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")  # the database write lock
        conn.execute("UPDATE schema_version SET version = version")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    engine = create_engine(registry_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(7242019)"))  # the upgrade lock (migrations.py)
        conn.execute(text("UPDATE schema_version SET version = version"))  # and a row lock
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def test_opening_an_up_to_date_registry_takes_no_write_lock(registry_url, tmp_path: Path):
    with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
        reg.list_deployments()
    outcome: dict[str, object] = {}

    def open_and_read() -> None:
        try:
            with open_registry(registry_url, "file://artifacts", tmp_path) as reg:
                outcome["deployments"] = reg.list_deployments()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            outcome["error"] = exc

    with write_lock_held(registry_url):
        reader = threading.Thread(target=open_and_read, daemon=True)
        reader.start()
        reader.join(OPEN_DEADLINE_SECONDS)
        opened_while_locked = not reader.is_alive()
    reader.join(120)  # old behaviour: it only gets through once the lock is released
    assert opened_while_locked, "open_registry waited for another connection's write lock"
    assert outcome == {"deployments": []}


def test_an_up_to_date_registry_stays_at_the_latest_version(registry_url, tmp_path: Path):
    for _ in range(2):
        with open_registry(registry_url, "file://artifacts", tmp_path) as reg, reg.db.read() as conn:
            assert conn.execute(text("SELECT version FROM schema_version")).scalars().all() == [LATEST]
