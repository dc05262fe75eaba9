"""`modelctl history`: every action apply performed — which versions of which models went where,
when, by whom, from which git commit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .consoles import is_piped
from .deploy import ListFormat
from .plan import console, user_errors

RESOURCE = re.compile(r"^(Model|Image|Deployment)/[a-z0-9][a-z0-9-]*(@[a-z0-9-]+)?$")


def _split_args(args: list[str], resource: str | None) -> tuple[Path, str | None]:
    """`history [RESOURCE] [DIR]`: KIND/NAME is a resource, an existing folder the repo; a bare name a deployment."""
    directory = None
    for arg in args:
        if RESOURCE.fullmatch(arg) and not Path(arg).is_dir():
            found = arg
        elif Path(arg).is_dir() and directory is None:
            directory = Path(arg)
            continue
        elif re.fullmatch(r"[a-z0-9][a-z0-9-]*", arg):
            found = f"Deployment/{arg}"
        else:
            raise typer.BadParameter(f"{arg!r} is neither a resource (KIND/NAME) nor a folder")
        if resource and resource != found:
            raise typer.BadParameter(f"two resources given: {resource} and {found}")
        resource = found
    return directory or Path("."), resource


def versions(action, registry) -> dict[str, Any]:  # noqa: ANN001
    """What a history row deployed or built: image name:version, its models, the target."""
    d = action.detail
    kind = action.resource.split("/", 1)[0]
    out: dict[str, Any] = {}
    if kind == "Deployment" and d.get("imageVersion") is not None:
        image, version, target = d.get("image"), d["imageVersion"], d.get("target")
        models = d.get("models")
        if image is None:  # recorded before the image name and target were kept: the deployment record knows
            name = action.resource.split("/", 1)[1].split("@", 1)[0]
            record = next((r for r in registry.list_deployments() if r.name == name), None)
            image, target = (record.image, record.target) if record else (None, None)
        if image and models is None:
            models = _image_models(registry, image, version)
        out = {
            "image": f"{image}:{version}" if image else None,
            "models": [f"{m}@{v}" for m, v in models or []],
            "target": target,
        }
    elif kind == "Image" and d.get("version") is not None:
        name = action.resource.split("/", 1)[1]
        out = {
            "image": f"{name}:{d['version']}",
            "models": [f"{m}@{v}" for m, v in _image_models(registry, name, d["version"]) or []],
        }
    elif kind == "Model" and d.get("version") is not None:
        out = {"models": [f"{action.resource.split('/', 1)[1]}@{d['version']}"]}
    return out


def _image_models(registry, name: str, version: int) -> list | None:  # noqa: ANN001
    from ..registry import RegistryError

    try:
        return list(registry.get_image(name, int(version)).models)
    except (RegistryError, ValueError):
        return None


def _check_resource(directory: Path, resource: str) -> None:
    """No history for a resource the repo and the registry do not know is a typo: an error with a hint."""
    from .lookup import known_names, unknown

    kind, _, name = resource.partition("/")
    name = name.split("@", 1)[0]
    _, names = known_names(directory)
    if name not in names[kind]:
        raise unknown(kind.lower(), name, names[kind])


def history(
    args: Optional[List[str]] = typer.Argument(
        None,
        metavar="[RESOURCE] [DIR]",
        help="A resource (KIND/NAME, or a deployment's name) and/or the GitOps repo folder (default .).",
    ),
    resource: Optional[str] = typer.Option(None, "--resource", help="Only this resource (KIND/NAME)."),
    run: Optional[str] = typer.Option(None, "--run", help="Only this apply run id."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many, newest first."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json."),
    revisions: bool = typer.Option(
        False, "--revisions", help="Only the deployment's revisions (what `modelctl rollback --to` takes)."
    ),
) -> None:
    """The apply history from the workspace registry, newest first: which image and model versions
    were deployed on which target, when, by whom, from which git commit.

    For a deployment, the revisions `modelctl rollback DEPLOYMENT --to REVISION` can go back to
    follow the table (`--revisions` shows only them).

    Example: modelctl history Deployment/iris-local examples/iris
    """
    from ..pipeline import load_workspace
    from ..registry import open_registry_if_present

    directory, resource = _split_args(list(args or []), resource)
    if revisions:
        if not resource or not resource.startswith("Deployment/"):
            raise typer.BadParameter("--revisions needs a deployment (NAME or Deployment/NAME)")
        _revisions(directory, resource, fmt, only=True)
        return
    with user_errors():
        ws = load_workspace(directory)
        registry = open_registry_if_present(ws.spec.registry, ws.spec.artifacts, Path(directory).resolve())
        rows: list[tuple[Any, dict]] = []
        if registry is not None:
            with registry:
                rows = [
                    (a, versions(a, registry)) for a in registry.history(resource=resource, run_id=run, limit=limit)
                ]
        if not rows and resource:
            _check_resource(directory, resource)
    if fmt is ListFormat.json:
        console.print_json(json.dumps([{**a.to_dict(), **extra} for a, extra in rows]))
        return
    if not rows:
        console.print(f"no history yet for {escape(resource)}" if resource else "no history yet")
        if resource and resource.startswith("Deployment/"):
            _revisions(directory, resource, fmt, only=False)
        return
    table = Table(box=None)
    for head in ("WHEN", "RUN", "RESOURCE", "ACTION", "RESULT", "VERSIONS", "TARGET", "WHO", "COMMIT"):
        table.add_column(head, no_wrap=True)
    piped = is_piped(console)  # a terminal gets a short WHY; a pipe (CI log, file) the whole text
    table.add_column("WHY", no_wrap=True, overflow="ellipsis", max_width=None if piped else 60)
    for a, extra in rows:
        colour = {"ok": "green", "failed": "red"}.get(a.result, "yellow")
        when = a.finished_at or a.started_at
        why = "; ".join(a.detail.get("reasons", []))
        why = why if piped else why[:80]
        shown = extra.get("image") or ""
        if extra.get("models"):
            shown += (" " if shown else "") + "(" * bool(shown) + ", ".join(extra["models"]) + ")" * bool(shown)
        commit = (a.git_commit or "-")[:12] + ("*" if a.detail.get("gitDirty") else "")
        table.add_row(
            when.strftime("%Y-%m-%d %H:%M:%S") if when else "-",
            a.run_id,
            escape(a.resource),
            a.action,
            f"[{colour}]{a.result}[/{colour}]",
            escape(shown or "-"),
            escape(extra.get("target") or "-"),
            escape(a.user or "-"),
            commit,
            escape(why),
        )
    console.print(table)
    if any(a.detail.get("gitDirty") for a, _ in rows):
        console.print("* applied with uncommitted changes (--allow-dirty)")
    if resource and resource.startswith("Deployment/"):
        _revisions(directory, resource, fmt, only=False)


def _revisions(directory: Path, resource: str, fmt: ListFormat, *, only: bool) -> None:
    """The deployment's revisions, for `modelctl rollback --to`. Beside the history a failure to read
    them is a note; asked for alone (--revisions), an error."""
    from ..diagnostics import DiagnosticError
    from ..errors import ApplyError, PlanError
    from ..registry import RegistryError
    from ..workflow.rollback import list_revisions, shown_time

    name = resource.split("/", 1)[1].split("@", 1)[0]
    if only:
        with user_errors():
            found = list_revisions(directory, name)
    else:
        try:
            found = list_revisions(directory, name)
        except (ApplyError, PlanError, RegistryError, DiagnosticError) as err:
            console.print(f"\nrevisions: not listed ({escape(str(err))})", soft_wrap=True)
            return
    if fmt is ListFormat.json:
        console.print_json(
            json.dumps(
                [
                    {
                        "revision": r.id,
                        "fingerprint": r.fingerprint,
                        "current": r.current,
                        "image": r.image,
                        "imageVersion": r.image_version,
                        "imageRef": r.image_ref,
                        "at": r.at,
                        "by": r.by,
                        "commit": r.commit,
                        "where": r.where,
                    }
                    for r in found
                ]
            )
        )
        return
    if not found:
        console.print(f"\nno revisions of {escape(resource)} to roll back to yet")
        return
    table = Table(box=None, title=None)
    for head in ("REVISION", "", "IMAGE", "SINCE", "WHO", "COMMIT", "WHERE"):
        table.add_column(head, no_wrap=True)
    for r in found:
        image = f"{r.image}:{r.image_version}" if r.image_version is not None else r.image or r.image_ref
        table.add_row(
            r.id,
            "current" if r.current else "",
            escape(image),
            shown_time(r.at) if r.at else "-",
            escape(r.by or "-"),
            (r.commit or "-")[:12],
            escape(r.where or "-"),
        )
    console.print(f"\nRevisions of {escape(resource)} (modelctl rollback {escape(name)} --to REVISION), newest first:")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("history")(history)
