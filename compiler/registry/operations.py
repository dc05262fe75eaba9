"""What plan/apply writes: deployment records, lease-based locks and the action history."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from . import schema as s
from .database import Db
from .errors import InvalidArgument, LockHeld, LockLost, NotFound
from .image_catalog import resolve_image_id
from .model_catalog import check_properties
from .names import check_name
from .records import Action, Deployment, Lock

d, lk, ac, iv = s.deployments, s.locks, s.actions, s.image_versions


# --- deployments ---------------------------------------------------------------------------------


def _deployment(row) -> Deployment:  # noqa: ANN001
    return Deployment(
        name=row.name,
        target=row.target,
        image=row.image,
        image_version=row.image_version,
        url=row.url,
        fingerprint=row.fingerprint,
        updated_at=row.updated_at,
    )


def _deployment_query():  # noqa: ANN202
    return select(d, iv.c.name.label("image"), iv.c.version.label("image_version")).join(iv, iv.c.id == d.c.image_id)


def record_deployment(
    db: Db, name: str, target: str, image: str, image_version: int | str, url: str | None, fingerprint: str
) -> Deployment:
    """Create or update the record of deployment `name` on `target`."""
    check_name(name, "deployment name")
    check_name(target, "target name")
    with db.write() as conn:
        image_id = resolve_image_id(conn, image, image_version)
        conn.execute(delete(d).where(d.c.name == name, d.c.target == target))
        conn.execute(
            d.insert().values(
                name=name, target=target, image_id=image_id, url=url, fingerprint=fingerprint, updated_at=db.clock()
            )
        )
        return _deployment(conn.execute(_deployment_query().where(d.c.name == name, d.c.target == target)).one())


def remove_deployment(db: Db, name: str, target: str) -> None:
    with db.write() as conn:
        if conn.execute(delete(d).where(d.c.name == name, d.c.target == target)).rowcount == 0:
            known = conn.execute(select(d.c.name, d.c.target)).all()
            raise NotFound("deployment", f"{name}@{target}", [f"{n}@{t}" for n, t in known])


def list_deployments(db: Db, target: str | None = None, image: str | None = None) -> list[Deployment]:
    query = _deployment_query()
    if target:
        query = query.where(d.c.target == target)
    if image:
        query = query.where(iv.c.name == image)
    with db.read() as conn:
        return [_deployment(r) for r in conn.execute(query.order_by(d.c.target, d.c.name))]


# --- locks ---------------------------------------------------------------------------------------


def _lock(row) -> Lock:  # noqa: ANN001
    return Lock(
        scope=row.scope,
        owner=row.owner,
        operation=row.operation,
        token=row.token,
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
    )


def _ttl(ttl_seconds: float) -> timedelta:
    if ttl_seconds <= 0:
        raise InvalidArgument("a lock needs a positive ttl_seconds")
    return timedelta(seconds=ttl_seconds)


def acquire_lock(db: Db, scope: str, owner: str, operation: str, ttl_seconds: float) -> Lock:
    """Take the lease for `scope`, or raise LockHeld naming who holds it. Expired leases are taken over."""
    ttl = _ttl(ttl_seconds)
    with db.write() as conn:
        now = db.clock()
        conn.execute(delete(lk).where(lk.c.scope == scope, lk.c.expires_at <= now))
        token = secrets.token_hex(16)
        inserted = conn.execute(
            db.insert_ignore(
                lk, scope=scope, owner=owner, operation=operation, token=token, acquired_at=now, expires_at=now + ttl
            )
        ).rowcount
        row = conn.execute(select(lk).where(lk.c.scope == scope)).one()
    if not inserted or row.token != token:
        raise LockHeld(row.scope, row.owner, row.operation, row.acquired_at, row.expires_at)
    return _lock(row)


def renew_lock(db: Db, lock: Lock, ttl_seconds: float) -> Lock:
    ttl = _ttl(ttl_seconds)
    with db.write() as conn:
        now = db.clock()
        changed = conn.execute(
            update(lk).where(lk.c.scope == lock.scope, lk.c.token == lock.token).values(expires_at=now + ttl)
        ).rowcount
        if not changed:
            raise LockLost(f"lock {lock.scope!r} was lost (expired and taken over, or force-released)")
        return _lock(conn.execute(select(lk).where(lk.c.scope == lock.scope)).one())


def release_lock(db: Db, lock: Lock) -> None:
    with db.write() as conn:
        if not conn.execute(delete(lk).where(lk.c.scope == lock.scope, lk.c.token == lock.token)).rowcount:
            raise LockLost(f"lock {lock.scope!r} was lost before release (expired and taken over, or force-released)")


def force_release_lock(db: Db, scope: str) -> Lock:
    with db.write() as conn:
        row = conn.execute(select(lk).where(lk.c.scope == scope)).first()
        if row is None:
            raise NotFound("lock", scope, conn.execute(select(lk.c.scope)).scalars().all())
        conn.execute(delete(lk).where(lk.c.scope == scope))
        return _lock(row)


def list_locks(db: Db, include_expired: bool = False) -> list[Lock]:
    query = select(lk).order_by(lk.c.scope)
    with db.read() as conn:
        if not include_expired:
            query = query.where(lk.c.expires_at > db.clock())
        return [_lock(r) for r in conn.execute(query)]


# --- apply history -------------------------------------------------------------------------------


def _action(row) -> Action:  # noqa: ANN001
    return Action(
        id=row.id,
        run_id=row.run_id,
        resource=row.resource,
        action=row.action,
        result=row.result,
        git_commit=row.git_commit,
        user=row.user,
        detail=row.detail or {},
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def record_action(
    db: Db,
    run_id: str,
    resource: str,
    action: str,
    result: str,
    *,
    git_commit: str | None = None,
    user: str | None = None,
    detail: dict[str, Any] | None = None,
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
) -> Action:
    detail = check_properties(detail)
    with db.write() as conn:
        new_id = conn.execute(
            ac.insert().values(
                run_id=run_id,
                resource=resource,
                action=action,
                result=result,
                git_commit=git_commit,
                user=user,
                detail=detail,
                started_at=started_at,
                finished_at=finished_at or db.clock(),
            )
        ).inserted_primary_key[0]
        return _action(conn.execute(select(ac).where(ac.c.id == new_id)).one())


def history(db: Db, resource: str | None = None, run_id: str | None = None, limit: int = 50) -> list[Action]:
    """Recorded actions, newest first."""
    query = select(ac)
    if resource:
        query = query.where(ac.c.resource == resource)
    if run_id:
        query = query.where(ac.c.run_id == run_id)
    with db.read() as conn:
        return [_action(r) for r in conn.execute(query.order_by(ac.c.id.desc()).limit(limit))]
