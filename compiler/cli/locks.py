"""`modelctl locks list|release`: the lease locks that keep two applies off one workspace."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from .deploy import ListFormat
from .plan import console, user_errors

app = typer.Typer(help="Workspace locks (one apply at a time).", no_args_is_help=True)


def _registry(directory: Path):  # noqa: ANN202
    from ..pipeline import load_workspace
    from ..registry import open_registry_if_present

    ws = load_workspace(directory)
    return open_registry_if_present(ws.spec.registry, ws.spec.artifacts, Path(directory).resolve())


@app.command("list")
def list_locks(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json."),
) -> None:
    """Locks currently held (expired ones are not shown).

    Example: modelctl locks list examples/iris
    """
    with user_errors():
        registry = _registry(directory)
        locks = []
        if registry is not None:
            with registry:
                locks = registry.list_locks()
    if fmt is ListFormat.json:
        console.print_json(json.dumps([{k: v for k, v in lk.to_dict().items() if k != "token"} for lk in locks]))
        return
    if not locks:
        console.print("no locks held")
        return
    table = Table("SCOPE", "OWNER", "OPERATION", "SINCE", "EXPIRES", box=None)
    for lk in locks:
        table.add_row(
            escape(lk.scope),
            escape(lk.owner),
            escape(lk.operation),
            lk.acquired_at.isoformat(),
            lk.expires_at.isoformat(),
        )
    console.print(table)


@app.command()
def release(
    scope: str = typer.Argument(..., help="The lock scope, e.g. workspace/iris-team."),
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
) -> None:
    """Force-release a lock left by an apply that died (check 'locks list' first).

    Example: modelctl locks release workspace/iris-team examples/iris
    """
    with user_errors():
        registry = _registry(directory)
        if registry is None:
            console.print("no registry yet: no locks")
            raise typer.Exit(1)
        with registry:
            lock = registry.force_release_lock(scope)
    console.print(f"released {escape(lock.scope)} (held by {escape(lock.owner)} for {escape(lock.operation)})")


def register(root_app: typer.Typer) -> None:
    root_app.add_typer(app, name="locks")
