"""Names on the command line are checked: an unknown one is an error (exit 1) with a did-you-mean,
never an empty listing. A name is known when the repo declares it or the registry has it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from .consoles import err_console

KINDS = ("Model", "Image", "Deployment", "Endpoint")


def unknown(what: str, name: str, known: Iterable[str], where: str | None = "the repo or the registry") -> typer.Exit:
    """Print `error: unknown WHAT 'NAME'[: not in WHERE]; HINT` and return the Exit(1) to raise."""
    from ..diagnostics import did_you_mean

    pool = sorted(set(known))
    hint = did_you_mean(name, pool) or (f"expected one of: {', '.join(pool)}" if pool else f"there is none in {where}")
    place = f": not in {where}" if where else ""
    err_console.print(f"[red]error:[/red] unknown {what} {escape(repr(name))}{place}; {escape(hint)}", soft_wrap=True)
    return typer.Exit(1)


def known_names(directory: Path) -> tuple[Any, dict[str, set[str]]]:
    """The Workspace and {kind: names} from the repo and its registry (models, images, deployments)."""
    from ..pipeline import load_workspace_and_names
    from ..registry import open_registry_if_present

    ws, declared = load_workspace_and_names(directory)
    names: dict[str, set[str]] = {kind: {n for k, n in declared if k == kind} for kind in KINDS}
    registry = open_registry_if_present(ws.spec.registry, ws.spec.artifacts, Path(directory).resolve())
    if registry is not None:
        with registry:
            names["Model"] |= set(registry.model_names())
            names["Image"] |= set(registry.image_names())
            names["Deployment"] |= {d.name for d in registry.list_deployments()}
    return ws, names


def repo_names(directory: Path, kind: str) -> set[str]:
    """The names of KIND the repo declares; none when it is no repo (a registry-only command)."""
    from ..diagnostics import DiagnosticError
    from ..pipeline import load_workspace_and_names

    try:
        return {n for k, n in load_workspace_and_names(directory)[1] if k == kind}
    except DiagnosticError:
        return set()


def check_target(ws: Any, name: str, recorded: Iterable[str] = ()) -> None:
    """A `--target` filter: a target name of the Workspace, a target type, or one recorded in the registry."""
    from ..targets import TARGET_TYPES

    known = set(ws.spec.targets) | set(TARGET_TYPES) | set(recorded)
    if name not in known:
        raise unknown("target", name, known, "the Workspace's targets or the target types")
