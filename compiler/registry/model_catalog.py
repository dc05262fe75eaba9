"""Model versions: registration, lookup, search, tags, aliases (with history), archive, delete."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, and_, delete, func, select, update

from . import schema as s
from .artifacts import store_model
from .database import Db
from .errors import InUse, InvalidArgument, NotFound
from .frameworks import check_signature, inspect_model
from .names import check_alias, check_framework, check_name, check_tags, parse_ref
from .records import AliasEvent, ModelVersion
from .store import ArtifactStore

mv, mt, ma, ae = s.model_versions, s.model_tags, s.model_aliases, s.alias_events


def check_properties(properties: dict[str, Any] | None) -> dict[str, Any]:
    properties = dict(properties or {})
    try:
        json.dumps(properties, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"properties must be JSON-serialisable: {exc}") from None
    return properties


# --- reading -------------------------------------------------------------------------------------


def load_versions(conn: Connection, ids: list[int] | Select) -> list[ModelVersion]:
    """ModelVersion records for row ids (in the order given) or for an id query (newest first).

    An id query stays a subquery in the three statements below, so a page costs three
    index-driven queries and no per-id bind parameters.
    """
    if isinstance(ids, list) and not ids:
        return []
    query = select(mv).where(mv.c.id.in_(ids))
    rows = {r.id: r for r in conn.execute(query if isinstance(ids, list) else query.order_by(mv.c.id.desc()))}
    order = ids if isinstance(ids, list) else list(rows)
    tags: dict[int, dict[str, str]] = {i: {} for i in order}
    for r in conn.execute(select(mt.c.model_id, mt.c.key, mt.c.value).where(mt.c.model_id.in_(ids))):
        tags[r.model_id][r.key] = r.value
    aliases: dict[tuple[str, int], list[str]] = {}
    names = select(mv.c.name).where(mv.c.id.in_(ids))
    for r in conn.execute(select(ma.c.name, ma.c.version, ma.c.alias).where(ma.c.name.in_(names)).order_by(ma.c.alias)):
        aliases.setdefault((r.name, r.version), []).append(r.alias)
    return [_record(rows[i], tags[i], aliases.get((rows[i].name, rows[i].version), [])) for i in order if i in rows]


def _record(row, tags: dict[str, str], aliases: list[str]) -> ModelVersion:  # noqa: ANN001
    return ModelVersion(
        name=row.name,
        version=row.version,
        digest=row.digest,
        kind=row.kind,
        entry=row.entry,
        framework=row.framework,
        size=row.size,
        signature=row.signature,
        flavors=row.flavors or {},
        description=row.description,
        properties=row.properties or {},
        tags=tags,
        aliases=aliases,
        archived=bool(row.archived),
        created_at=row.created_at,
    )


def latest_id(conn: Connection, name: str) -> int | None:
    query = select(mv.c.id).where(mv.c.name == name, mv.c.archived.is_(False)).order_by(mv.c.version.desc()).limit(1)
    return conn.execute(query).scalar_one_or_none()


def resolve_id(conn: Connection, name: str, ref: int | str) -> int:
    """Row id of name@ref (3, "latest", "tag:stable" or an alias name); NotFound with suggestions."""
    kind, value = parse_ref(ref)
    check_name(name, "model name")
    if kind == "latest":
        found = latest_id(conn, name)
    elif kind == "version":
        found = conn.execute(select(mv.c.id).where(mv.c.name == name, mv.c.version == value)).scalar_one_or_none()
    else:
        query = (
            select(mv.c.id)
            .join(ma, and_(ma.c.name == mv.c.name, ma.c.version == mv.c.version))
            .where(ma.c.name == name, ma.c.alias == value)
        )
        found = conn.execute(query).scalar_one_or_none()
    if found is not None:
        return found
    known = conn.execute(select(mv.c.name).distinct()).scalars().all()
    if name not in known:
        raise NotFound("model", name, known)
    if kind == "alias":
        aliases = conn.execute(select(ma.c.alias).where(ma.c.name == name)).scalars().all()
        raise NotFound("alias", f"{name}@{value}", [f"{name}@{a}" for a in aliases])
    if kind == "latest":
        raise NotFound("latest (non-archived) version of model", name)
    versions = conn.execute(select(mv.c.version).where(mv.c.name == name)).scalars().all()
    raise NotFound("model version", f"{name}:{value}", [f"{name}:{v}" for v in versions])


def get_model(db: Db, name: str, ref: int | str = "latest") -> ModelVersion:
    with db.read() as conn:
        return load_versions(conn, [resolve_id(conn, name, ref)])[0]


def list_models(
    db: Db,
    prefix: str | None = None,
    tags: dict[str, str | None] | None = None,
    framework: str | None = None,
    include_archived: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[ModelVersion]:
    """Model versions, newest first; tags: {key: value} equality, {key: None} existence."""
    if limit < 1 or offset < 0:
        raise InvalidArgument("limit must be ≥ 1 and offset ≥ 0")
    filters = list((tags or {}).items())
    if filters:
        # The first tag drives the query from the (key, value, model_id) index, newest first, so a
        # page needs no sort over every match; further tags are index lookups.
        key, value = filters.pop(0)
        order_col = mt.c.model_id
        query = select(mt.c.model_id).join(mv, mv.c.id == mt.c.model_id).where(mt.c.key == key)
        if value is not None:
            query = query.where(mt.c.value == str(value))
    else:
        order_col = mv.c.id
        query = select(mv.c.id)
    for key, value in filters:
        matching = select(mt.c.model_id).where(mt.c.key == key).correlate(None)
        if value is not None:
            matching = matching.where(mt.c.value == str(value))
        query = query.where(mv.c.id.in_(matching))
    if prefix:
        query = query.where(mv.c.name.startswith(prefix, autoescape=True))
    if framework:
        query = query.where(mv.c.framework == check_framework(framework))
    if not include_archived:
        query = query.where(mv.c.archived.is_(False))
    query = query.order_by(order_col.desc()).limit(limit).offset(offset)
    with db.read() as conn:
        return load_versions(conn, query)


# --- writing -------------------------------------------------------------------------------------


def note_latest(conn: Connection, name: str, now: datetime) -> None:
    """Append a history event for the implicit alias "latest" when it moved."""
    current = conn.execute(select(mv.c.version).where(mv.c.id == latest_id(conn, name))).scalar_one_or_none()
    last = conn.execute(
        select(ae.c.version).where(ae.c.name == name, ae.c.alias == "latest").order_by(ae.c.id.desc()).limit(1)
    ).first()
    if (last[0] if last else None) != current:
        conn.execute(ae.insert().values(name=name, alias="latest", version=current, at=now))


def register_model(
    db: Db,
    store: ArtifactStore,
    name: str,
    source: Path,
    *,
    framework: str,
    tags: dict[str, str] | None = None,
    properties: dict[str, Any] | None = None,
    signature: dict[str, Any] | None = None,
    description: str | None = None,
) -> tuple[ModelVersion, bool]:
    check_name(name, "model name")
    check_framework(framework)
    tags, properties, signature = check_tags(tags), check_properties(properties), check_signature(signature)
    source = Path(source)
    if not source.exists():
        raise InvalidArgument(f"model source {source} does not exist")
    info = inspect_model(framework, source)  # reads metadata only; never unpickles
    stored = store_model(store, source)  # blobs first, each one atomic ...
    with db.write() as conn:  # ... then one transaction for the rows
        last = db.lock_counter(conn, s.model_names, name)
        current = latest_id(conn, name)
        if current is not None:
            row = conn.execute(select(mv.c.digest, mv.c.framework).where(mv.c.id == current)).one()
            if row.digest == stored.digest and row.framework == framework:  # another framework: a new version
                return load_versions(conn, [current])[0], False
        now = db.clock()
        new_id = conn.execute(
            mv.insert().values(
                name=name,
                version=last + 1,
                digest=stored.digest,
                kind=stored.kind,
                entry=info.entry if stored.kind == "tree" else stored.files[0].path,
                framework=framework,
                size=stored.size,
                signature=signature or info.signature,
                flavors=info.flavors,
                description=description,
                properties=properties,
                archived=False,
                created_at=now,
            )
        ).inserted_primary_key[0]
        conn.execute(update(s.model_names).where(s.model_names.c.name == name).values(last_version=last + 1))
        if tags:
            conn.execute(mt.insert(), [{"model_id": new_id, "key": k, "value": v} for k, v in tags.items()])
        note_latest(conn, name, now)
        return load_versions(conn, [new_id])[0], True


def set_tags(db: Db, name: str, version: int | str, tags: dict[str, str]) -> ModelVersion:
    tags = check_tags(tags)
    with db.write() as conn:
        model_id = resolve_id(conn, name, version)
        if tags:
            conn.execute(delete(mt).where(mt.c.model_id == model_id, mt.c.key.in_(list(tags))))
            conn.execute(mt.insert(), [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()])
        return load_versions(conn, [model_id])[0]


def remove_tags(db: Db, name: str, version: int | str, keys: list[str]) -> ModelVersion:
    with db.write() as conn:
        model_id = resolve_id(conn, name, version)
        conn.execute(delete(mt).where(mt.c.model_id == model_id, mt.c.key.in_(list(keys))))
        return load_versions(conn, [model_id])[0]


def set_alias(db: Db, name: str, alias: str, version: int | str) -> ModelVersion:
    alias = check_alias(alias)
    with db.write() as conn:
        model_id = resolve_id(conn, name, version)
        number = conn.execute(select(mv.c.version).where(mv.c.id == model_id)).scalar_one()
        now = db.clock()
        conn.execute(delete(ma).where(ma.c.name == name, ma.c.alias == alias))
        conn.execute(ma.insert().values(name=name, alias=alias, version=number, updated_at=now))
        conn.execute(ae.insert().values(name=name, alias=alias, version=number, at=now))
        return load_versions(conn, [model_id])[0]


def remove_alias(db: Db, name: str, alias: str) -> None:
    alias = check_alias(alias)
    with db.write() as conn:
        resolve_id(conn, name, f"tag:{alias}")  # NotFound with suggestions
        conn.execute(delete(ma).where(ma.c.name == name, ma.c.alias == alias))
        conn.execute(ae.insert().values(name=name, alias=alias, version=None, at=db.clock()))


def alias_history(db: Db, name: str, alias: str, at: datetime | None = None) -> list[AliasEvent]:
    """Every move of the alias, oldest first; with `at`, only moves up to that time."""
    check_name(name, "model name")
    alias = "latest" if alias in ("latest", "@latest") else check_alias(alias.removeprefix("@"))
    query = select(ae).where(ae.c.name == name, ae.c.alias == alias)
    if at is not None:
        query = query.where(ae.c.at <= at)
    with db.read() as conn:
        rows = conn.execute(query.order_by(ae.c.at, ae.c.id)).all()
    return [AliasEvent(alias=r.alias, version=r.version, at=r.at) for r in rows]


def set_archived(db: Db, name: str, version: int | str, archived: bool) -> ModelVersion:
    with db.write() as conn:
        model_id = resolve_id(conn, name, version)
        conn.execute(update(mv).where(mv.c.id == model_id).values(archived=archived))
        note_latest(conn, name, db.clock())
        return load_versions(conn, [model_id])[0]


def delete_model(db: Db, name: str, version: int | str | None = None) -> list[int]:
    """Delete one version (or every version of the name); refused while an image uses any of them."""
    with db.write() as conn:
        if version is None:
            check_name(name, "model name")
            rows = conn.execute(select(mv.c.id, mv.c.version).where(mv.c.name == name)).all()
            if not rows:
                raise NotFound("model", name, conn.execute(select(mv.c.name).distinct()).scalars().all())
        else:
            model_id = resolve_id(conn, name, version)
            rows = conn.execute(select(mv.c.id, mv.c.version).where(mv.c.id == model_id)).all()
        ids = [r.id for r in rows]
        iv, im = s.image_versions, s.image_models
        users = conn.execute(
            select(iv.c.name, iv.c.version, mv.c.version.label("model_version"))
            .join(im, im.c.image_id == iv.c.id)
            .join(mv, mv.c.id == im.c.model_id)
            .where(im.c.model_id.in_(ids))
        ).all()
        if users:
            what = f"model {name}" + (f":{rows[0].version}" if version is not None else "")
            raise InUse(what, [f"image {u.name}:{u.version} (uses {name}:{u.model_version})" for u in users])
        versions = [r.version for r in rows]
        now = db.clock()
        for r in conn.execute(select(ma).where(ma.c.name == name, ma.c.version.in_(versions))).all():
            conn.execute(ae.insert().values(name=name, alias=r.alias, version=None, at=now))
        conn.execute(delete(ma).where(ma.c.name == name, ma.c.version.in_(versions)))
        conn.execute(delete(mt).where(mt.c.model_id.in_(ids)))
        conn.execute(delete(mv).where(mv.c.id.in_(ids)))
        note_latest(conn, name, now)
        return sorted(versions)


def model_names(db: Db) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(mv.c.name).distinct().order_by(mv.c.name)).scalars())


def count_models(db: Db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(mv)).scalar_one()
