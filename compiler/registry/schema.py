"""Tables of the registry database (SQLAlchemy Core). Migrations in migrations.py create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC on every backend and hands back timezone-aware UTC datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the registry; use timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ANN001
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()
_ID: dict[str, Any] = dict(primary_key=True, autoincrement=True)
_SQLITE: dict[str, Any] = dict(sqlite_autoincrement=True)  # never reuse ids: newest-first order follows id

schema_version = Table("schema_version", metadata, Column("version", Integer, nullable=False))

# Per-name version counters: the row is locked while a version is assigned.
model_names = Table(
    "model_names",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_version", Integer, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("id", Integer, **_ID),
    Column("name", String(64), ForeignKey("model_names.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("entry", Text),
    Column("framework", String(16), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("signature", JSON),
    Column("flavors", JSON, nullable=False),
    Column("description", Text),
    Column("properties", JSON, nullable=False),
    Column("archived", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    Index("ix_model_versions_framework", "framework", "id"),
    **_SQLITE,
)

model_tags = Table(
    "model_tags",
    metadata,
    Column("model_id", Integer, ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(512), nullable=False),
    Index("ix_model_tags_key_value", "key", "value", "model_id"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Append-only: every move of an alias (including the implicit "latest").
alias_events = Table(
    "alias_events",
    metadata,
    Column("id", Integer, **_ID),
    Column("name", String(64), nullable=False),
    Column("alias", String(64), nullable=False),
    Column("version", Integer),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_alias_events_lookup", "name", "alias", "at", "id"),
    **_SQLITE,
)

image_names = Table(
    "image_names",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("last_version", Integer, nullable=False),
)

image_versions = Table(
    "image_versions",
    metadata,
    Column("id", Integer, **_ID),
    Column("name", String(64), ForeignKey("image_names.name"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("fingerprint", String(128), nullable=False),
    Column("image_ref", Text),
    Column("environment", String(256), nullable=False),
    Column("description", Text),
    Column("properties", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("name", "version", name="uq_image_versions_name_version"),
    **_SQLITE,
)

# Which model versions an image contains: the reason a model version cannot be deleted.
image_models = Table(
    "image_models",
    metadata,
    Column("image_id", Integer, ForeignKey("image_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("model_id", Integer, ForeignKey("model_versions.id"), primary_key=True),
    Column("position", Integer, nullable=False),
    Index("ix_image_models_model", "model_id"),
)

image_tags = Table(
    "image_tags",
    metadata,
    Column("image_id", Integer, ForeignKey("image_versions.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(512), nullable=False),
    Index("ix_image_tags_key_value", "key", "value", "image_id"),
)

# --- schema version 2: what plan/apply writes -------------------------------------------------

deployments = Table(
    "deployments",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("target", String(64), primary_key=True),
    Column("image_id", Integer, ForeignKey("image_versions.id"), nullable=False),
    Column("url", Text),
    Column("fingerprint", String(128), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_deployments_image", "image_id"),
)

locks = Table(
    "locks",
    metadata,
    Column("scope", String(256), primary_key=True),
    Column("owner", String(256), nullable=False),
    Column("operation", String(256), nullable=False),
    Column("token", String(64), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

actions = Table(
    "actions",
    metadata,
    Column("id", Integer, **_ID),
    Column("run_id", String(64), nullable=False),
    Column("resource", String(256), nullable=False),
    Column("action", String(32), nullable=False),
    Column("result", String(32), nullable=False),
    Column("git_commit", String(64)),
    Column("user", String(256)),
    Column("detail", JSON, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Index("ix_actions_resource", "resource", "id"),
    Index("ix_actions_run", "run_id", "id"),
    **_SQLITE,
)

V1_TABLES = (
    "model_names",
    "model_versions",
    "model_tags",
    "model_aliases",
    "alias_events",
    "image_names",
    "image_versions",
    "image_models",
    "image_tags",
)
V2_TABLES = ("deployments", "locks", "actions")
