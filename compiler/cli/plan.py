"""`modelctl plan` and `modelctl apply`."""

from __future__ import annotations

import sys
import threading
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from .consoles import console, err_console


class PlanFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    github = "github"


def _scope(target: list[str] | None, targets: list[str] | None, no_prune: bool, stage: str | None):  # noqa: ANN202
    from ..plan import Scope

    names = tuple(x.strip() for item in (targets or []) for x in item.split(",") if x.strip())
    return Scope(tuple(target or ()), names, not no_prune, stage)


@contextmanager
def user_errors() -> Iterator[None]:
    """Known failures become one clear message and exit 1 (diagnostics are printed by main)."""
    from ..errors import ApplyError, PlanError
    from ..registry import RegistryError
    from ..targets.oci import RegistryUnreachable

    try:
        yield
    except (PlanError, ApplyError, RegistryError, RegistryUnreachable) as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True)
        raise typer.Exit(1) from None


TARGET_HELP = "Only this resource and what it needs: Model/x, Image/y, Deployment/z (repeatable)."
TARGETS_HELP = "Only deployments on these targets, by name or type (e.g. local, docker); repeatable or comma-separated."


def plan_command(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    out: Optional[Path] = typer.Option(None, "--out", help="Save the plan (JSON) for 'modelctl apply PLAN'."),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode", help="Exit 0 no changes, 2 changes, 1 error."),
    target: Optional[List[str]] = typer.Option(None, "--target", help=TARGET_HELP),
    targets: Optional[List[str]] = typer.Option(None, "--targets", help=TARGETS_HELP),
    no_prune: bool = typer.Option(False, "--no-prune", help="Never plan deletions of resources gone from git."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
    fmt: PlanFormat = typer.Option(PlanFormat.text, "--format", help="text, json, markdown (a PR comment) or github."),
    base: Optional[str] = typer.Option(
        None,
        "--base",
        help="Pull-request plan: compare git revision BASE with --head "
        "(from git objects only; no live state, no credentials).",
    ),
    head: str = typer.Option("HEAD", "--head", help="With --base: the revision to compare (default HEAD)."),
    destroy: bool = typer.Option(
        False, "--destroy", help="Show what 'modelctl destroy' would remove (with --targets)."
    ),
) -> None:
    """Show what apply would change: the repo against live state (registry, Docker engine, image registry).

    Example: modelctl plan examples/iris --targets local --out plan.json
    """
    if destroy:
        from .destroy import destroy_command

        destroy_command(directory, targets, auto_approve=False, dry_run=True)
        return
    if base is not None:
        from .gitops import pull_request_plan

        pull_request_plan(directory, base, head, stage=stage, fmt=fmt.value, detailed_exitcode=detailed_exitcode)
        return
    if fmt is PlanFormat.github:
        err_console.print("[red]error:[/red] --format github is for pull-request plans (with --base)")
        raise typer.Exit(1)
    from ..plan.document import write_plan
    from ..plan.explain import render
    from ..workflow import Session

    with user_errors(), Session.open(directory, _scope(target, targets, no_prune, stage)) as session:
        plan = session.plan()
    if fmt is PlanFormat.text:
        console.print(render(plan, "text"), soft_wrap=True)
    else:
        console.print(render(plan, fmt.value), markup=False, highlight=False, soft_wrap=True, end="")
    if out:
        write_plan(plan, out)
        if fmt is PlanFormat.text:
            console.print(f"\nSaved the plan to {out}. Apply exactly this plan with: modelctl apply {out}")
    raise typer.Exit(2 if detailed_exitcode and plan.has_changes else 0)


class RichReporter:
    """A spinner per running action on a TTY; one line per start/finish otherwise (CI logs)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self._lock = threading.Lock()
        self.progress = (
            Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True
            )
            if self.live
            else None
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> "RichReporter":
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress:
            self.progress.stop()

    def start(self, action):  # noqa: ANN001, ANN201
        from ..plan.explain import SYMBOL

        label = f"{SYMBOL[action.action].strip()} {action.resource}"
        progress = self.progress
        if progress:
            task = progress.add_task(escape(label))
            self._tasks[action.resource] = task

            def update(text: str) -> None:
                progress.update(task, description=escape(f"{label}: {text}"))

            return update
        with self._lock:
            self.console.print(f"  … {escape(label)}: {action.action}", soft_wrap=True)
        return lambda _text: None

    def finish(self, result) -> None:  # noqa: ANN001
        if self.progress and result.resource in self._tasks:
            self.progress.remove_task(self._tasks.pop(result.resource))
        mark = {"ok": "[green]✓[/green]", "failed": "[red]✗[/red]", "skipped": "[yellow]-[/yellow]"}[result.result]
        extra = f" → {result.detail['url']}" if result.detail.get("url") else ""
        with self._lock:
            self.console.print(
                f"  {mark} {escape(result.resource)} {result.action} {result.result} "
                f"({result.seconds:.1f} s){escape(extra)}",
                soft_wrap=True,
            )
            if result.result != "ok":
                self.console.print(f"    [red]{escape(result.message)}[/red]", soft_wrap=True)


def apply_command(
    source: Path = typer.Argument(
        Path("."), metavar="[DIR | PLAN.json]", help="A repo, or a plan saved by 'plan --out'."
    ),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Do not ask for confirmation."),
    target: Optional[List[str]] = typer.Option(None, "--target", help=TARGET_HELP),
    targets: Optional[List[str]] = typer.Option(None, "--targets", help=TARGETS_HELP),
    no_prune: bool = typer.Option(False, "--no-prune", help="Never delete resources gone from git."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
    allow_dirty: bool = typer.Option(
        False,
        "--allow-dirty",
        help="Apply even with uncommitted changes under the repo folder (recorded as dirty in the history).",
    ),
    force_conflicts: bool = typer.Option(
        False,
        "--force-conflicts",
        help="Kubernetes: take over fields another field manager owns (server-side apply force).",
    ),
) -> None:
    """Make live state match the repo: register models, build and push images, deploy (blue/green).

    With a saved plan, apply exactly that plan, and refuse if live state moved since it was made.
    Refuses uncommitted changes in the repo unless --allow-dirty (outside git it applies and says so).

    Example: modelctl apply examples/iris --targets local --auto-approve
    """
    from ..plan.explain import render_text, summary_line
    from ..workflow import apply_repo, apply_saved

    def show(plan) -> None:  # noqa: ANN001
        console.print(render_text(plan), soft_wrap=True)

    def note(text: str) -> None:
        console.print(f"[yellow]note:[/yellow] {escape(text)}", soft_wrap=True)

    def confirm(_plan) -> bool:  # noqa: ANN001
        if not auto_approve:
            _confirm()
        console.print()
        return True

    reporter = RichReporter(console)
    with user_errors():
        if source.is_file():
            if target or targets or no_prune or stage:
                raise typer.BadParameter(
                    "--target/--targets/--no-prune/--stage come from the saved plan; make a new plan to change them"
                )
            run = apply_saved(
                source,
                reporter=reporter,
                confirm=confirm,
                allow_dirty=allow_dirty,
                show=show,
                note=note,
                force_conflicts=force_conflicts,
            )
        else:
            run = apply_repo(
                source,
                _scope(target, targets, no_prune, stage),
                reporter=reporter,
                confirm=confirm,
                allow_dirty=allow_dirty,
                show=show,
                note=note,
                force_conflicts=force_conflicts,
            )
    outcome, plan = run.outcome, run.plan
    if outcome is None:
        return
    for text in outcome.notes:
        console.print(f"[cyan]note:[/cyan] {escape(text)}", soft_wrap=True)
    ok = sum(r.result == "ok" for r in outcome.results)
    bad = [r for r in outcome.results if r.result != "ok"]
    line = f"Apply {'complete' if not bad else 'failed'}: {ok} of {len(outcome.results)} actions succeeded"
    line += f" ({summary_line(plan)[6:-1]}). Run {outcome.run_id}."
    (console if not bad else err_console).print(
        ("[green]" if not bad else "[red]") + escape(line) + ("[/green]" if not bad else "[/red]"), soft_wrap=True
    )
    if bad:
        raise typer.Exit(1)


def _confirm() -> None:
    if not sys.stdin.isatty():
        err_console.print("[red]error:[/red] apply needs confirmation: pass --auto-approve (stdin is not a terminal)")
        raise typer.Exit(1)
    if not typer.confirm("Apply these changes?", default=False):
        err_console.print("Apply cancelled.")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)
    app.command("apply")(apply_command)
