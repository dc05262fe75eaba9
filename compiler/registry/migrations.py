"""Versioned schema: a `schema_version` row and ordered migrations, applied on open.

Rule for future changes: never edit a released migration; add a new function to MIGRATIONS.
A table that a later migration alters must get explicit DDL in its creating migration first.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select

from . import schema


def _create(conn: Connection, names: tuple[str, ...]) -> None:
    schema.metadata.create_all(conn, tables=[schema.metadata.tables[n] for n in names])


def _v1_catalog(conn: Connection) -> None:
    """Models, images, tags, aliases and alias history."""
    _create(conn, schema.V1_TABLES)


def _v2_operations(conn: Connection) -> None:
    """Deployment records, apply locks and apply history."""
    _create(conn, schema.V2_TABLES)


MIGRATIONS: list[Callable[[Connection], None]] = [_v1_catalog, _v2_operations]
LATEST = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(select(schema.schema_version.c.version)).scalar_one_or_none() or 0


def upgrade(engine: Engine, target: int = LATEST) -> int:
    """Bring the database to `target`; safe when several processes open it at once.

    An up-to-date database is only read (a deferred transaction on SQLite, no advisory lock on
    PostgreSQL), so read-only commands never queue behind a writer; the write lock is taken, and the
    version read again under it, only when a migration is due.
    """
    with engine.execution_options(readonly=True).begin() as conn:
        version = current_version(conn)
    if version >= target:
        return version
    with engine.begin() as conn:  # a write transaction: BEGIN IMMEDIATE on SQLite
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7242019)")  # serialise concurrent upgrades
        version = current_version(conn)
        if version == 0:
            schema.schema_version.create(conn, checkfirst=True)
            conn.execute(schema.schema_version.insert().values(version=0))
        for number in range(version + 1, target + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(schema.schema_version.update().values(version=number))
        return max(version, target)
