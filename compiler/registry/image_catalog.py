"""Image versions: what was built from which model versions, by fingerprint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from . import schema as s
from .database import Db
from .errors import InUse, InvalidArgument, NotFound
from .model_catalog import check_properties, resolve_id
from .names import check_name, check_tags, parse_ref
from .records import ImageVersion

iv, im, it, mv = s.image_versions, s.image_models, s.image_tags, s.model_versions


def load_images(conn: Connection, ids: list[int]) -> list[ImageVersion]:
    if not ids:
        return []
    rows = {r.id: r for r in conn.execute(select(iv).where(iv.c.id.in_(ids)))}
    tags: dict[int, dict[str, str]] = {i: {} for i in ids}
    for r in conn.execute(select(it).where(it.c.image_id.in_(ids))):
        tags[r.image_id][r.key] = r.value
    models: dict[int, list[tuple[str, int]]] = {i: [] for i in ids}
    query = (
        select(im.c.image_id, mv.c.name, mv.c.version)
        .join(mv, mv.c.id == im.c.model_id)
        .where(im.c.image_id.in_(ids))
        .order_by(im.c.image_id, im.c.position)
    )
    for r in conn.execute(query):
        models[r.image_id].append((r.name, r.version))
    return [
        ImageVersion(
            name=row.name,
            version=row.version,
            fingerprint=row.fingerprint,
            image_ref=row.image_ref,
            environment=row.environment,
            models=models[i],
            description=row.description,
            properties=row.properties or {},
            tags=tags[i],
            created_at=row.created_at,
        )
        for i in ids
        if (row := rows.get(i)) is not None
    ]


def _latest_id(conn: Connection, name: str) -> int | None:
    return conn.execute(
        select(iv.c.id).where(iv.c.name == name).order_by(iv.c.version.desc()).limit(1)
    ).scalar_one_or_none()


def resolve_image_id(conn: Connection, name: str, ref: int | str = "latest") -> int:
    check_name(name, "image name")
    kind, value = parse_ref(ref)
    if kind == "alias":
        raise InvalidArgument(f"images have no aliases; use a version number or 'latest', not {ref!r}")
    found = (
        _latest_id(conn, name)
        if kind == "latest"
        else conn.execute(select(iv.c.id).where(iv.c.name == name, iv.c.version == value)).scalar_one_or_none()
    )
    if found is not None:
        return found
    known = conn.execute(select(iv.c.name).distinct()).scalars().all()
    if name not in known:
        raise NotFound("image", name, known)
    versions = conn.execute(select(iv.c.version).where(iv.c.name == name)).scalars().all()
    raise NotFound("image version", f"{name}:{value}", [f"{name}:{v}" for v in versions])


def register_image(
    db: Db,
    name: str,
    *,
    fingerprint: str,
    models: list[tuple[str, int | str]],
    environment: str,
    tags: dict[str, str] | None = None,
    properties: dict[str, Any] | None = None,
    description: str | None = None,
    image_ref: str | None = None,
) -> tuple[ImageVersion, bool]:
    """New version unless the latest one has the same fingerprint (then only a missing image_ref is filled)."""
    check_name(name, "image name")
    if not fingerprint or not isinstance(fingerprint, str):
        raise InvalidArgument("an image needs a fingerprint")
    tags, properties = check_tags(tags), check_properties(properties)
    with db.write() as conn:
        model_ids = [resolve_id(conn, model, ref) for model, ref in models]
        last = db.lock_counter(conn, s.image_names, name)
        current = _latest_id(conn, name)
        if current is not None:
            row = conn.execute(select(iv.c.fingerprint, iv.c.image_ref).where(iv.c.id == current)).one()
            if row.fingerprint == fingerprint:
                if image_ref and not row.image_ref:
                    conn.execute(update(iv).where(iv.c.id == current).values(image_ref=image_ref))
                return load_images(conn, [current])[0], False
        new_id = conn.execute(
            iv.insert().values(
                name=name,
                version=last + 1,
                fingerprint=fingerprint,
                image_ref=image_ref,
                environment=environment,
                description=description,
                properties=properties,
                created_at=db.clock(),
            )
        ).inserted_primary_key[0]
        conn.execute(update(s.image_names).where(s.image_names.c.name == name).values(last_version=last + 1))
        seen: set[int] = set()
        links = []
        for position, model_id in enumerate(model_ids):
            if model_id not in seen:
                seen.add(model_id)
                links.append({"image_id": new_id, "model_id": model_id, "position": position})
        if links:
            conn.execute(im.insert(), links)
        if tags:
            conn.execute(it.insert(), [{"image_id": new_id, "key": k, "value": v} for k, v in tags.items()])
        return load_images(conn, [new_id])[0], True


def get_image(db: Db, name: str, ref: int | str = "latest") -> ImageVersion:
    with db.read() as conn:
        return load_images(conn, [resolve_image_id(conn, name, ref)])[0]


def find_image(db: Db, name: str, fingerprint: str) -> ImageVersion | None:
    """The newest version of `name` built from `fingerprint`, or None."""
    check_name(name, "image name")
    with db.read() as conn:
        found = conn.execute(
            select(iv.c.id).where(iv.c.name == name, iv.c.fingerprint == fingerprint).order_by(iv.c.id.desc()).limit(1)
        ).scalar()
        return load_images(conn, [found])[0] if found is not None else None


def image_names(db: Db) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(iv.c.name).distinct().order_by(iv.c.name)).scalars())


def list_images(
    db: Db,
    prefix: str | None = None,
    tags: dict[str, str | None] | None = None,
    model: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ImageVersion]:
    """Image versions, newest first; `model` keeps images containing any version of that model."""
    if limit < 1 or offset < 0:
        raise InvalidArgument("limit must be ≥ 1 and offset ≥ 0")
    query = select(iv.c.id)
    for key, value in (tags or {}).items():  # each filter: an index range on (key, value, id)
        matching = select(it.c.image_id).where(it.c.key == key)
        if value is not None:
            matching = matching.where(it.c.value == str(value))
        query = query.where(iv.c.id.in_(matching))
    if prefix:
        query = query.where(iv.c.name.startswith(prefix, autoescape=True))
    if model:
        query = query.where(
            iv.c.id.in_(select(im.c.image_id).join(mv, mv.c.id == im.c.model_id).where(mv.c.name == model))
        )
    query = query.order_by(iv.c.id.desc()).limit(limit).offset(offset)
    with db.read() as conn:
        return load_images(conn, list(conn.execute(query).scalars()))


def set_image_tags(db: Db, name: str, version: int | str, tags: dict[str, str]) -> ImageVersion:
    tags = check_tags(tags)
    with db.write() as conn:
        image_id = resolve_image_id(conn, name, version)
        if tags:
            conn.execute(delete(it).where(it.c.image_id == image_id, it.c.key.in_(list(tags))))
            conn.execute(it.insert(), [{"image_id": image_id, "key": k, "value": v} for k, v in tags.items()])
        return load_images(conn, [image_id])[0]


def remove_image_tags(db: Db, name: str, version: int | str, keys: list[str]) -> ImageVersion:
    with db.write() as conn:
        image_id = resolve_image_id(conn, name, version)
        conn.execute(delete(it).where(it.c.image_id == image_id, it.c.key.in_(list(keys))))
        return load_images(conn, [image_id])[0]


def set_image_ref(db: Db, name: str, version: int | str, image_ref: str) -> ImageVersion:
    with db.write() as conn:
        image_id = resolve_image_id(conn, name, version)
        conn.execute(update(iv).where(iv.c.id == image_id).values(image_ref=image_ref))
        return load_images(conn, [image_id])[0]


def delete_image(db: Db, name: str, version: int | str) -> int:
    """Delete one image version; refused while a deployment record uses it."""
    with db.write() as conn:
        image_id = resolve_image_id(conn, name, version)
        number = conn.execute(select(iv.c.version).where(iv.c.id == image_id)).scalar_one()
        d = s.deployments
        users = conn.execute(select(d.c.name, d.c.target).where(d.c.image_id == image_id)).all()
        if users:
            raise InUse(f"image {name}:{number}", [f"deployment {u.name} on target {u.target}" for u in users])
        conn.execute(delete(it).where(it.c.image_id == image_id))
        conn.execute(delete(im).where(im.c.image_id == image_id))
        conn.execute(delete(iv).where(iv.c.id == image_id))
        return number
