"""The Registry: one object per workspace, a thin facade over the catalog modules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from . import image_catalog, model_catalog, operations
from .artifacts import materialize
from .database import Db, create_registry_engine, normalize_url
from .errors import RegistryError
from .migrations import upgrade
from .records import Action, AliasEvent, Deployment, ImageVersion, Lock, ModelVersion
from .store import ArtifactStore, open_store


def _utcnow() -> datetime:
    return datetime.now(UTC)


def open_registry(url: str, artifacts: str, root: Path, *, clock: Callable[[], datetime] = _utcnow) -> Registry:
    """Open (and migrate) the registry database at `url` with the artifact store at `artifacts`.

    Relative SQLite and file paths are relative to `root`, the workspace repository.
    """
    root = Path(root).absolute()
    db_url = normalize_url(url, root)
    engine = create_registry_engine(db_url)
    try:
        upgrade(engine)
        store = open_store(artifacts, root)
    except OperationalError as exc:
        engine.dispose()
        shown = db_url.render_as_string(hide_password=True)
        raise RegistryError(f"cannot open the registry database {shown}: {str(exc.orig).strip()}") from None
    except BaseException:
        engine.dispose()
        raise
    return Registry(Db(engine, clock), store)


class Registry:
    def __init__(self, db: Db, store: ArtifactStore) -> None:
        self.db, self.store = db, store

    def close(self) -> None:
        self.store.close()
        self.db.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- models ----------------------------------------------------------------------------------

    def register_model(
        self,
        name: str,
        source: Path,
        *,
        framework: str,
        tags: dict[str, str] | None = None,
        properties: dict[str, Any] | None = None,
        signature: dict[str, Any] | None = None,
        description: str | None = None,
    ) -> tuple[ModelVersion, bool]:
        return model_catalog.register_model(
            self.db,
            self.store,
            name,
            source,
            framework=framework,
            tags=tags,
            properties=properties,
            signature=signature,
            description=description,
        )

    def get_model(self, name: str, ref: int | str = "latest") -> ModelVersion:
        return model_catalog.get_model(self.db, name, ref)

    def list_models(
        self,
        prefix: str | None = None,
        tags: dict[str, str | None] | None = None,
        framework: str | None = None,
        include_archived: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ModelVersion]:
        return model_catalog.list_models(self.db, prefix, tags, framework, include_archived, limit, offset)

    def model_names(self) -> list[str]:
        """Every model name with a version in the registry (archived too), sorted."""
        return model_catalog.model_names(self.db)

    def image_names(self) -> list[str]:
        """Every image name with a version in the registry, sorted."""
        return image_catalog.image_names(self.db)

    def tag(self, name: str, version: int | str, tags: dict[str, str]) -> ModelVersion:
        return model_catalog.set_tags(self.db, name, version, tags)

    def untag(self, name: str, version: int | str, keys: list[str]) -> ModelVersion:
        return model_catalog.remove_tags(self.db, name, version, keys)

    def set_alias(self, name: str, alias: str, version: int | str) -> ModelVersion:
        return model_catalog.set_alias(self.db, name, alias, version)

    def remove_alias(self, name: str, alias: str) -> None:
        model_catalog.remove_alias(self.db, name, alias)

    def alias_history(self, name: str, alias: str, at: datetime | None = None) -> list[AliasEvent]:
        return model_catalog.alias_history(self.db, name, alias, at)

    def alias_at(self, name: str, alias: str, at: datetime) -> int | None:
        """The version `alias` ("latest" included) pointed to at time `at`, or None."""
        events = self.alias_history(name, alias, at)
        return events[-1].version if events else None

    def archive(self, name: str, version: int | str) -> ModelVersion:
        return model_catalog.set_archived(self.db, name, version, True)

    def unarchive(self, name: str, version: int | str) -> ModelVersion:
        return model_catalog.set_archived(self.db, name, version, False)

    def delete_model(self, name: str, version: int | str | None = None) -> list[int]:
        return model_catalog.delete_model(self.db, name, version)

    def materialize_model(self, name: str, version: int | str, dest: Path) -> list[Path]:
        """Write the model's files under dest, each verified against its digest."""
        model = self.get_model(name, version)
        return materialize(self.store, model.digest, model.kind, model.entry, Path(dest))

    # --- images ----------------------------------------------------------------------------------

    def register_image(
        self,
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
        return image_catalog.register_image(
            self.db,
            name,
            fingerprint=fingerprint,
            models=models,
            environment=environment,
            tags=tags,
            properties=properties,
            description=description,
            image_ref=image_ref,
        )

    def get_image(self, name: str, ref: int | str = "latest") -> ImageVersion:
        return image_catalog.get_image(self.db, name, ref)

    def find_image(self, name: str, fingerprint: str) -> ImageVersion | None:
        """The newest version of `name` built from `fingerprint`, or None."""
        return image_catalog.find_image(self.db, name, fingerprint)

    def list_images(
        self,
        prefix: str | None = None,
        tags: dict[str, str | None] | None = None,
        model: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ImageVersion]:
        return image_catalog.list_images(self.db, prefix, tags, model, limit, offset)

    def tag_image(self, name: str, version: int | str, tags: dict[str, str]) -> ImageVersion:
        return image_catalog.set_image_tags(self.db, name, version, tags)

    def untag_image(self, name: str, version: int | str, keys: list[str]) -> ImageVersion:
        return image_catalog.remove_image_tags(self.db, name, version, keys)

    def set_image_ref(self, name: str, version: int | str, image_ref: str) -> ImageVersion:
        return image_catalog.set_image_ref(self.db, name, version, image_ref)

    def delete_image(self, name: str, version: int | str) -> int:
        return image_catalog.delete_image(self.db, name, version)

    # --- deployments, locks, history (written by plan/apply) ----------------------------------------

    def record_deployment(
        self, name: str, target: str, image: str, image_version: int | str, url: str | None, fingerprint: str
    ) -> Deployment:
        return operations.record_deployment(self.db, name, target, image, image_version, url, fingerprint)

    def remove_deployment(self, name: str, target: str) -> None:
        operations.remove_deployment(self.db, name, target)

    def list_deployments(self, target: str | None = None, image: str | None = None) -> list[Deployment]:
        return operations.list_deployments(self.db, target, image)

    def acquire_lock(self, scope: str, owner: str, operation: str, ttl_seconds: float) -> Lock:
        return operations.acquire_lock(self.db, scope, owner, operation, ttl_seconds)

    def renew_lock(self, lock: Lock, ttl_seconds: float) -> Lock:
        return operations.renew_lock(self.db, lock, ttl_seconds)

    def release_lock(self, lock: Lock) -> None:
        operations.release_lock(self.db, lock)

    def force_release_lock(self, scope: str) -> Lock:
        return operations.force_release_lock(self.db, scope)

    def list_locks(self, include_expired: bool = False) -> list[Lock]:
        return operations.list_locks(self.db, include_expired)

    def record_action(
        self,
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
        return operations.record_action(
            self.db,
            run_id,
            resource,
            action,
            result,
            git_commit=git_commit,
            user=user,
            detail=detail,
            started_at=started_at,
            finished_at=finished_at,
        )

    def history(self, resource: str | None = None, run_id: str | None = None, limit: int = 50) -> list[Action]:
        return operations.history(self.db, resource, run_id, limit)


def open_registry_if_present(url: str, artifacts: str, root: Path) -> Registry | None:
    """The registry, or None when its SQLite file does not exist yet (a plan never creates it)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        path = Path(parsed.database or "")
        path = path if path.is_absolute() else Path(root) / path
        if not path.exists():
            return None
    return open_registry(url, artifacts, Path(root))
