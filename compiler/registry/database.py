"""Engines for the registry database: SQLite (default, a file in the workspace) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import InvalidArgument

SQLITE_BUSY_TIMEOUT_SECONDS = 60


def normalize_url(url: str, root: Path) -> URL:
    """Map postgres(ql):// to psycopg 3 and make relative SQLite paths relative to the workspace root."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidArgument(f"invalid registry URL {url!r}: {exc}") from None
    driver = parsed.drivername
    if driver in ("postgres", "postgresql", "postgresql+psycopg2"):
        return parsed.set(drivername="postgresql+psycopg")
    if driver == "postgresql+psycopg":
        return parsed
    if driver in ("sqlite", "sqlite+pysqlite"):
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise InvalidArgument("the registry needs a SQLite file, e.g. sqlite:///.modelctl/registry.db")
        path = Path(database)
        if not path.is_absolute():
            path = root / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return parsed.set(drivername="sqlite+pysqlite", database=str(path))
    raise InvalidArgument(
        f"unsupported registry URL {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def create_registry_engine(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4, json_deserializer=orjson.loads)


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, json_deserializer=orjson.loads
    )  # JSON columns decode on every listed record

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        # Writers take the database write lock up front, so read-then-write never deadlocks;
        # read-only connections (execution option readonly=True) use a deferred transaction.
        readonly = conn.get_execution_options().get("readonly", False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine


class Db:
    """An engine plus the clock; hands out write transactions and read-only ones."""

    def __init__(self, engine: Engine, clock) -> None:  # noqa: ANN001
        self.engine = engine
        self.clock = clock
        self._reader = engine.execution_options(readonly=True)

    def write(self):  # noqa: ANN201
        return self.engine.begin()

    def read(self):  # noqa: ANN201
        return self._reader.begin()

    def insert_ignore(self, table, **values):  # noqa: ANN001, ANN003, ANN201
        """INSERT … ON CONFLICT DO NOTHING, on either backend."""
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table).values(**values).on_conflict_do_nothing()
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).values(**values).on_conflict_do_nothing()

    def lock_counter(self, conn, table, name: str) -> int:  # noqa: ANN001
        """Create the per-name counter row if needed, lock it and return its last version.

        PostgreSQL: SELECT … FOR UPDATE serialises writers of one name. SQLite: the write
        transaction already holds the database write lock (BEGIN IMMEDIATE).
        """
        from sqlalchemy import select

        conn.execute(self.insert_ignore(table, name=name, last_version=0))
        query = select(table.c.last_version).where(table.c.name == name).with_for_update()
        return conn.execute(query).scalar_one()
