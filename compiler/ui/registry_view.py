"""The registry as the API serves it: models, images, aliases and their history, lineage, protection,
and the apply history. Read-only; no registry yet is an answer (`present: false`), not an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..pipeline import load_workspace
from ..registry import Registry, RegistryError, open_registry_if_present

LIMIT = 500  # versions listed per kind


class RegistrySource:
    """Where the workspace's registry is: read from modelctl.yaml again only when that file changed."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self._settings: tuple[float, str, str] | None = None

    def open(self) -> Registry | None:
        """The registry, read-only use; None before the first apply (never creates it).

        Raises RegistryError when its database does not answer (the views turn that into `error`)."""
        mtime = (self.root / "modelctl.yaml").stat().st_mtime
        if self._settings is None or self._settings[0] != mtime:
            ws = load_workspace(self.root)
            self._settings = (mtime, ws.spec.registry, ws.spec.artifacts)
        return open_registry_if_present(self._settings[1], self._settings[2], self.root)


def registry_view(source: RegistrySource) -> dict[str, Any]:
    root = source.root
    try:
        registry = source.open()
    except RegistryError as err:
        return {"present": False, "models": [], "images": [], "error": str(err)}
    if registry is None:
        return {"present": False, "models": [], "images": [], "hint": f"nothing applied yet: modelctl apply {root}"}
    with registry:
        models = registry.list_models(include_archived=True, limit=LIMIT)
        images = registry.list_images(limit=LIMIT)
        deployments = registry.list_deployments()
        users: dict[tuple[str, int], list[str]] = {}  # model version → images using it
        for image in images:
            for model, version in image.models:
                users.setdefault((model, version), []).append(f"{image.name}:{image.version}")
        deployed: dict[tuple[str, int], list[str]] = {}  # image version → deployments running it
        for d in deployments:
            deployed.setdefault((d.image, d.image_version), []).append(f"{d.name} on {d.target}")
        alias_names: dict[str, set[str]] = {}
        for m in models:
            alias_names.setdefault(m.name, {"latest"}).update(m.aliases)
        aliases = {
            name: {
                alias: [e.to_dict() for e in registry.alias_history(name, alias)] for alias in sorted(alias_names[name])
            }
            for name in sorted(alias_names)
        }
        out_models = []
        for m in models:
            images_using = users.get((m.name, m.version), [])
            out_models.append(
                {
                    "name": m.name,
                    "version": m.version,
                    "framework": m.framework,
                    "digest": m.digest[:19],
                    "size": m.size,
                    "tags": m.tags,
                    "aliases": m.aliases,
                    "archived": m.archived,
                    "createdAt": m.created_at.isoformat(),
                    "description": m.description,
                    "images": images_using,
                    "deployments": sorted({d for ref in images_using for d in deployed.get(_image_key(ref), [])}),
                    # a version an image uses cannot be deleted (the registry refuses: InUse)
                    "deleteProtected": bool(images_using),
                    "command": f"modelctl models archive {m.name} {m.version} --repo {root}",
                }
            )
        out_images = [
            {
                "name": i.name,
                "version": i.version,
                "fingerprint": i.fingerprint.removeprefix("sha256:")[:12],
                "imageRef": i.image_ref,
                "environment": i.environment,
                "models": [f"{m}@{v}" for m, v in i.models],
                "tags": i.tags,
                "createdAt": i.created_at.isoformat(),
                "deployments": deployed.get((i.name, i.version), []),
                "deleteProtected": bool(deployed.get((i.name, i.version))),
            }
            for i in images
        ]
    return {"present": True, "models": out_models, "images": out_images, "aliases": aliases}


def _image_key(ref: str) -> tuple[str, int]:
    name, _, version = ref.rpartition(":")
    return name, int(version)


def _versions(detail: dict[str, Any], resource: str) -> dict[str, Any]:
    """What a history row built or deployed, as apply recorded it."""
    kind, _, name = resource.partition("/")
    if kind == "Deployment" and detail.get("imageVersion") is not None:
        return {
            "image": f"{detail.get('image')}:{detail['imageVersion']}" if detail.get("image") else None,
            "models": [f"{m}@{v}" for m, v in detail.get("models") or []],
            "target": detail.get("target"),
        }
    if kind == "Image" and detail.get("version") is not None:
        return {"image": f"{name}:{detail['version']}"}
    if kind == "Model" and detail.get("version") is not None:
        return {"models": [f"{name.split('@', 1)[0]}@{detail['version']}"]}
    return {}


STANDS_OUT = ("failed", "rolled-back", "rolled back")


def history_view(source: RegistrySource, limit: int = 200, resource: str | None = None) -> dict[str, Any]:
    try:
        registry = source.open()
    except RegistryError as err:
        return {"present": False, "actions": [], "error": str(err)}
    if registry is None:
        return {"present": False, "actions": []}
    with registry:
        rows = registry.history(resource=resource, limit=limit)
    actions = []
    for a in rows:
        d = a.detail
        bad = a.result in STANDS_OUT or a.action == "rollback" or bool(d.get("rolledBack"))
        actions.append(
            {
                "id": a.id,
                "run": a.run_id,
                "resource": a.resource,
                "action": a.action,
                "result": a.result,
                "standsOut": bad,
                "commit": (a.git_commit or "")[:12] or None,
                "dirty": bool(d.get("gitDirty")),
                "branch": d.get("gitBranch"),
                "user": a.user,
                "startedAt": a.started_at.isoformat() if a.started_at else None,
                "finishedAt": a.finished_at.isoformat() if a.finished_at else None,
                "reasons": list(d.get("reasons") or []),
                "error": d.get("error"),
                **_versions(d, a.resource),
            }
        )
    return {"present": True, "actions": actions}
