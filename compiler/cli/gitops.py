"""Git-aware commands: the pull-request plan behind `plan --base` (drift and reconcile join here)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

console = Console(highlight=False)


def pull_request_plan(directory: Path, base: str, head: str, *, stage: str | None, fmt: str,
                      detailed_exitcode: bool) -> None:
    from ..gitops.pr_plan import pr_plan
    from ..gitops.report import RENDERERS

    plan = pr_plan(directory, base, head, stage=stage)  # DiagnosticError is printed by main()
    console.print(RENDERERS[fmt](plan), markup=False, highlight=False, soft_wrap=True, end="")
    raise typer.Exit(2 if detailed_exitcode and not plan.changes.empty else 0)


def register(app: typer.Typer) -> None:
    """Nothing of its own yet: `plan --base` calls pull_request_plan."""
