"""Git-aware commands: the pull-request plan behind `plan --base`, `modelctl drift`, `modelctl reconcile`."""

from __future__ import annotations

import json
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Iterator, List, Optional

import typer

from .consoles import console


def pull_request_plan(
    directory: Path, base: str, head: str, *, stage: str | None, fmt: str, detailed_exitcode: bool
) -> None:
    from ..gitops.pr_plan import pr_plan
    from ..gitops.report import RENDERERS

    plan = pr_plan(directory, base, head, stage=stage)  # DiagnosticError is printed by main()
    console.print(RENDERERS[fmt](plan), markup=False, highlight=False, soft_wrap=True, end="")
    raise typer.Exit(2 if detailed_exitcode and not plan.changes.empty else 0)


class DriftFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


TARGETS_HELP = "Only these targets, by name or type (e.g. local, docker); repeatable or comma-separated."


def drift_command(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
    targets: Optional[List[str]] = typer.Option(None, "--targets", help=TARGETS_HELP),
    fmt: DriftFormat = typer.Option(DriftFormat.text, "--format", help="text, json or markdown."),
) -> None:
    """Compare live state with git on every target apply manages. Exit 0 none, 2 drift found, 3 no
    drift but deployments held by a rollback, 1 error.

    Drift is split into changes made by hand since the last apply, pending git changes not applied
    yet, and expected differences (fields owned by the target, e.g. replicas under an autoscaler;
    deployments `modelctl rollback` put back while git still wants the revision they replaced).
    Read-only: takes no lock and writes nothing.

    Example: modelctl drift examples/iris --format markdown
    """
    from ..gitops.drift import RENDERERS
    from ..workflow import detect_drift
    from .plan import _scope, user_errors

    with user_errors():
        report = detect_drift(directory, _scope(None, targets, False, stage))
    out = RENDERERS[fmt.value](report)
    console.print(out, markup=False, highlight=False, soft_wrap=True, end="")
    raise typer.Exit(report.exit_code)


def reconcile_command(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    interval: Optional[str] = typer.Option(
        None,
        "--interval",
        help="Loop: run a cycle every INTERVAL (5m, 30s, 500ms). Without it: one cycle (for cron and CI schedules).",
    ),
    self_heal: bool = typer.Option(False, "--self-heal", help="Apply the fix when drift is found."),
    pull: bool = typer.Option(False, "--pull", help="git pull --ff-only before each cycle."),
    webhook: Optional[str] = typer.Option(None, "--webhook", help="POST each drift and apply event (JSON) to URL."),
    max_cycles: Optional[int] = typer.Option(None, "--max-cycles", min=1, help="Stop after N cycles (loop mode)."),
    max_backoff: str = typer.Option("15m", "--max-backoff", help="Longest wait after repeated errors."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
    targets: Optional[List[str]] = typer.Option(None, "--targets", help=TARGETS_HELP),
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="Let --self-heal apply uncommitted changes."),
) -> None:
    """Detect drift and report it (JSON log lines on stdout); with --self-heal, apply the fix.

    One cycle without --interval: exit 0 in sync (or healed), 2 drift left, 1 error. With
    --interval it loops until SIGTERM/SIGINT (finishes the current step, exit 0) or --max-cycles;
    errors back off exponentially up to --max-backoff. A lease in the registry keeps two
    reconcilers of one workspace from overlapping.

    Example: modelctl reconcile . --interval 5m --self-heal --pull --webhook https://hooks.example/x
    """
    import signal
    import threading

    from ..gitops import reconcile as rec
    from ..workflow.reconcile import RepoSteps
    from .plan import _scope, user_errors

    try:
        every = rec.parse_duration(interval) if interval else None
        cap = rec.parse_duration(max_backoff)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    if webhook and not webhook.startswith(("http://", "https://")):
        raise typer.BadParameter(f"--webhook must be an http(s) URL, not {webhook!r}")
    settings = rec.Settings(every, self_heal, pull, max_cycles, cap)
    scope = _scope(None, targets, False, stage)

    def log(event: dict) -> None:
        print(json.dumps(rec.stamp(event), sort_keys=False, default=str), flush=True)

    notify = (lambda event: rec.post_webhook(webhook, rec.stamp(event))) if webhook else None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with user_errors(), _reconcile_lease(directory) as lease:
        log(
            {
                "event": "start",
                "repo": str(Path(directory).resolve()),
                "interval": every,
                "selfHeal": self_heal,
                "pull": pull,
                "webhook": bool(webhook),
            }
        )
        steps = RepoSteps(directory, scope, allow_dirty=allow_dirty)
        try:
            code = rec.run(settings, steps, log=log, notify=notify, stop=stop, lost=lease.lost.is_set)
        finally:
            steps.close()
    raise typer.Exit(code)


@contextmanager
def _reconcile_lease(directory: Path) -> Iterator:
    """The lease "reconcile/<workspace>": never two reconcile loops on one workspace."""
    from ..pipeline import load_workspace
    from ..plan.lock import workspace_lock
    from ..registry import open_registry

    ws = load_workspace(directory)
    with open_registry(ws.spec.registry, ws.spec.artifacts, Path(directory).resolve()) as registry:
        with workspace_lock(
            registry, ws.metadata.name, "reconcile loop", scope=f"reconcile/{ws.metadata.name}"
        ) as lease:
            yield lease


def register(app: typer.Typer) -> None:
    """`plan --base` calls pull_request_plan; drift and reconcile are commands of their own."""
    app.command("drift")(drift_command)
    app.command("reconcile")(reconcile_command)
