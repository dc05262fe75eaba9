"""`modelctl rollback`: put an earlier revision of a deployment back (docker, edge, fpga)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .consoles import console, err_console


def _line(label: str, rev) -> str:  # noqa: ANN001
    from ..workflow.rollback import shown_time

    image = f"{rev.image}:{rev.image_version}" if rev.image_version is not None else rev.image_ref
    when = f"  since {shown_time(rev.at)}" if rev.at else ""
    who = f" by {rev.by}" if rev.by else ""
    commit = f"  commit {rev.commit[:12]}" if rev.commit else ""
    return f"  {label} {rev.id}  image {image}{when}{who}{commit}"


def show(plan) -> None:  # noqa: ANN001
    console.print(f"Rollback of {escape(plan.resource)} on target {escape(plan.target)} ({plan.target_type}):")
    console.print(escape(_line("live now  ", plan.current)), soft_wrap=True)
    console.print(escape(_line("rolls to →", plan.to)), soft_wrap=True)
    console.print(
        f"Git still wants {plan.current.id}: plan and drift show {escape(plan.resource)} as rolled back (expected "
        f"drift, left alone by reconcile --self-heal) until git is reverted to {plan.to.id}; "
        "an apply rolls forward.",
        soft_wrap=True,
    )


def rollback_command(
    deployment: str = typer.Argument(..., metavar="DEPLOYMENT", help="The deployment (NAME or Deployment/NAME)."),
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    to: Optional[str] = typer.Option(
        None,
        "--to",
        help="The revision to go back to (as `modelctl history DEPLOYMENT` lists it; default: the previous).",
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
) -> None:
    """Put an earlier revision of a deployment back: docker runs the image version (and spec) it ran
    before, edge and fpga re-point to a kept published revision. Recorded in `modelctl history`; until
    git is reverted too, plan and drift show the deployment as rolled back (drift exits 3 when that is
    all), `reconcile --self-heal` leaves it, and `apply` rolls forward.

    Example: modelctl rollback digits-edge examples/edge-vision --to 1a2b3c4d
    """
    from ..workflow.rollback import rollback
    from .plan import user_errors

    def confirm(plan) -> bool:  # noqa: ANN001
        show(plan)
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            err_console.print(
                "[red]error:[/red] rollback needs confirmation: pass --auto-approve (stdin is not a terminal)"
            )
            raise typer.Exit(1)
        if not typer.confirm("Roll back?", default=False):
            err_console.print("Rollback cancelled.")
            raise typer.Exit(1)
        return True

    def note(text: str) -> None:
        console.print(f"[yellow]note:[/yellow] {escape(text)}", soft_wrap=True)

    with user_errors():
        done = rollback(directory, deployment, to=to, confirm=confirm, note=note, stage=stage)
    if done.plan is None:
        assert done.current is not None
        console.print(f"{escape(deployment)} already runs revision {done.current.id}: nothing to do")
        return
    assert done.result is not None
    for text in done.result.notes:
        console.print(f"[cyan]note:[/cyan] {escape(text)}", soft_wrap=True)
    console.print(
        f"[green]Rolled back {escape(done.plan.resource)}: {done.plan.current.id} → {done.plan.to.id}. "
        f"Run {done.run_id}.[/green]",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("rollback")(rollback_command)
