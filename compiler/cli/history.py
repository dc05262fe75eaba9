"""`modelctl history`: every action apply performed (who, git commit, when, what, result)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from .deploy import ListFormat
from .plan import console, user_errors


def history(directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
            resource: Optional[str] = typer.Option(None, "--resource", help="Only this resource (KIND/NAME)."),
            run: Optional[str] = typer.Option(None, "--run", help="Only this apply run id."),
            limit: int = typer.Option(50, "--limit", min=1, help="How many, newest first."),
            fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json.")) -> None:
    """The apply history from the workspace registry, newest first.

    Example: modelctl history examples/iris --resource Deployment/iris-local
    """
    from ..pipeline import load_workspace
    from ..plan.state import open_registry_if_present

    with user_errors():
        ws = load_workspace(directory)
        registry = open_registry_if_present(ws.spec.registry, ws.spec.artifacts, Path(directory).resolve())
        actions = []
        if registry is not None:
            with registry:
                actions = registry.history(resource=resource, run_id=run, limit=limit)
    if fmt is ListFormat.json:
        console.print_json(json.dumps([a.to_dict() for a in actions]))
        return
    if not actions:
        console.print("no history yet")
        return
    table = Table("WHEN", "RUN", "RESOURCE", "ACTION", "RESULT", "WHO", "COMMIT", "WHY", box=None)
    for a in actions:
        colour = {"ok": "green", "failed": "red"}.get(a.result, "yellow")
        when = (a.finished_at or a.started_at)
        why = "; ".join(a.detail.get("reasons", []))[:80]
        table.add_row(when.strftime("%Y-%m-%d %H:%M:%S") if when else "-", a.run_id, escape(a.resource), a.action,
                      f"[{colour}]{a.result}[/{colour}]", escape(a.user or "-"), (a.git_commit or "-")[:12],
                      escape(why))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("history")(history)
