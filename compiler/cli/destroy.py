"""`modelctl destroy [DIR] [--target NAME …] [--auto-approve] [--dry-run]`: remove everything the
workspace runs on its targets (deployments, endpoints, each target's router), Terraform-style: a plan
of deletions, a typed `yes`, `preventDestroy` honoured, and what is kept said at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.markup import escape

from .consoles import console, err_console
from .plan import RichReporter, user_errors


def show_destroy(destroy) -> None:  # noqa: ANN001 - a workflow.DestroyPlan
    from ..plan.explain import action_lines

    if destroy.empty:
        where = ", ".join(destroy.targets) or "no applied target"
        console.print(f"[green]Nothing to destroy[/green] on {escape(where)}: the workspace runs nothing there.")
        return
    lines = [f"modelctl will destroy these in workspace [bold]{escape(destroy.plan.workspace)}[/bold]:", ""]
    for action in destroy.plan.changes:
        lines += action_lines(action)
    for item in destroy.teardown:
        for text in item.items:
            lines += [f"  [red]  -[/red] [bold]{escape(text)}[/bold] [dim](target {escape(item.target)})[/dim]", ""]
    infra = sum(len(t.items) for t in destroy.teardown)
    lines.append(
        f"[bold]Destroy: {len(destroy.plan.changes)} deployments and endpoints, {infra} objects of the targets.[/bold]"
    )
    console.print("\n".join(lines), soft_wrap=True)


def show_kept(kept: tuple[str, ...]) -> None:
    console.print("\nKept (destroy never removes these):")
    for text in kept:
        console.print(f"  · {escape(text)}", soft_wrap=True, highlight=False)


def destroy_command(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    target: Optional[List[str]] = typer.Option(
        None,
        "--target",
        "--targets",
        help="Only these targets, by name or type (repeatable or comma-separated; default: every target).",
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show what would be destroyed and what is kept; change nothing."
    ),
) -> None:
    """Remove everything the workspace runs on its targets: deployments, endpoints and each target's
    router. Keeps the registry, collected data, secrets and pushed images (and says how to remove them).

    Example: modelctl destroy examples/iris --target local
    """
    from ..workflow import destroy_repo

    names = tuple(x.strip() for item in (target or []) for x in item.split(",") if x.strip())
    with user_errors():
        _check_targets(directory, names)

    def confirm(_destroy) -> bool:  # noqa: ANN001
        if auto_approve:
            return True
        if not sys.stdin.isatty():
            err_console.print(
                "[red]error:[/red] destroy needs confirmation: pass --auto-approve (stdin is not a terminal)"
            )
            raise typer.Exit(1)
        answer = typer.prompt("Destroy all of this? Only 'yes' is accepted", default="", show_default=False)
        if answer.strip() != "yes":
            err_console.print("Destroy cancelled.")
            raise typer.Exit(1)
        console.print()
        return True

    def note(text: str) -> None:
        console.print(f"[yellow]note:[/yellow] {escape(text)}", soft_wrap=True)

    from ..errors import ApplyError, PlanError

    with user_errors():
        try:
            run = destroy_repo(
                directory,
                names,
                reporter=RichReporter(console),
                confirm=confirm,
                show=show_destroy,
                note=note,
                dry_run=dry_run,
            )
        except (PlanError, ApplyError) as err:
            if names or "preventDestroy" in str(err):
                raise
            raise PlanError(f"{err}; to destroy the other targets, name them with --target NAME") from None
    if run.destroy.empty:
        return
    if run.outcome is None:  # a dry run
        show_kept(run.destroy.kept)
        return
    for text in run.removed:
        console.print(f"  [green]✓[/green] removed {escape(text)}", soft_wrap=True)
    for text in run.failed:
        err_console.print(f"  [red]✗[/red] {escape(text)}", soft_wrap=True)
    bad = [r for r in run.outcome.results if r.result != "ok"]
    if bad or run.failed:
        err_console.print(
            f"[red]Destroy failed: {len(bad)} of {len(run.outcome.results)} deletions did not complete; "
            "run modelctl destroy again.[/red]",
            soft_wrap=True,
        )
        raise typer.Exit(1)
    console.print(
        f"[green]Destroy complete: {len(run.outcome.results)} deleted, {len(run.removed)} objects of the targets "
        f"removed. Run {run.outcome.run_id}.[/green]",
        soft_wrap=True,
    )
    show_kept(run.destroy.kept)


def _check_targets(directory: Path, names: tuple[str, ...]) -> None:
    """An unknown --target is exit 1 with a did-you-mean (before anything is read)."""
    from ..pipeline import load_workspace
    from .lookup import unknown

    if not names:
        return
    from ..targets import TARGET_TYPES

    ws = load_workspace(directory)
    known = set(ws.spec.targets) | {t.type for t in ws.spec.targets.values()}
    for name in names:
        if name not in known:
            where = (
                "the Workspace's targets"
                if name not in TARGET_TYPES
                else "the Workspace's targets (no target of that type)"
            )
            raise unknown("target", name, known, where)


def register(app: typer.Typer) -> None:
    app.command("destroy")(destroy_command)
