"""`modelctl destroy` as a library call: remove everything the workspace runs on its targets.

    run = destroy_repo(Path("examples/iris"), targets=("local",), confirm=None)   # None: auto-approve

What git says does not matter (Terraform's destroy): every deployment and endpoint the selected
targets run for the workspace, or the registry recorded there, is deleted by the executor (so the
history records it), then each target's own infrastructure (`TargetType.infrastructure`, e.g.
docker's router and its volume) is removed with `Connection.teardown`. Anything deployed with
`lifecycle.preventDestroy` makes the whole destroy refuse, naming each one. What is kept on purpose
(the registry, collected data, secrets, pushed images) is listed with how to remove it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..plan.apply import Outcome, Reporter
from ..plan.diff import make_destroy_plan
from ..plan.lock import workspace_lock
from ..plan.model import Plan, Scope
from ..plan.target import TargetTypes
from ..targets import TARGET_TYPES
from .run import execute_plan
from .session import Session


@dataclass(frozen=True)
class Teardown:
    """A target's own infrastructure, removed once its deployments and endpoints are gone."""

    target: str
    items: tuple[str, ...]


@dataclass(frozen=True)
class DestroyPlan:
    plan: Plan  # a delete per deployment and endpoint (endpoints first)
    teardown: tuple[Teardown, ...]
    targets: tuple[str, ...]  # the targets destroyed
    kept: tuple[str, ...]  # what stays, each with how to remove it

    @property
    def empty(self) -> bool:
        return not self.plan.has_changes and not any(t.items for t in self.teardown)


@dataclass(frozen=True)
class DestroyRun:
    destroy: DestroyPlan
    outcome: Outcome | None  # None: nothing to destroy, a dry run, or not confirmed
    removed: tuple[str, ...] = ()  # infrastructure removed, one line each
    failed: tuple[str, ...] = ()  # targets whose infrastructure stayed, and why
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.cancelled and not self.failed and (self.outcome is None or self.outcome.ok)


Confirm = Callable[[DestroyPlan], bool]
Show = Callable[[DestroyPlan], None]
Note = Callable[[str], None]


def destroy_repo(
    root: Path,
    targets: tuple[str, ...] = (),
    *,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    show: Show = lambda _plan: None,
    note: Note = lambda _text: None,
    dry_run: bool = False,
    types: TargetTypes = TARGET_TYPES,
) -> DestroyRun:
    """Plan the destroy of `targets` (names or types; empty: every target); unless a dry run, take the
    workspace lock, plan again from live state read inside it, confirm (None approves) and carry it out."""
    with Session.open(Path(root), Scope(targets=targets), types=types) as session:
        # nothing is wanted: no model, image or registry manifest is read, only what the targets run
        session.selection = replace(
            session.selection, nodes=(), not_applied=(), needs_target_facts=bool(session.selection.managed_targets)
        )
        preview = plan_destroy(session)
        if preview.empty or dry_run:
            show(preview)
            return DestroyRun(preview, None)
        session.writable()
        assert session.registry is not None
        with workspace_lock(session.registry, session.graph.workspace.name, operation="destroy") as lease:
            for text in lease.notes:
                note(text)
            current = plan_destroy(session)
            show(current)
            if current.empty:
                return DestroyRun(current, None)
            if confirm is not None and not confirm(current):
                return DestroyRun(current, None, cancelled=True)
            outcome = execute_plan(session, current.plan, reporter, lost=lease.lost.is_set)
            removed, failed = _teardown(session, current, outcome)
    return DestroyRun(current, outcome, removed, failed)


def plan_destroy(session: Session) -> DestroyPlan:
    """The destroy plan from live state read now (pure past the read)."""
    live = session.read_live()
    git = session.git
    plan = make_destroy_plan(
        session.graph,
        live,
        types=session.types,
        selection=session.selection,
        scope=session.scope,
        git_commit=git.commit,
        git_branch=git.branch,
        git_dirty=git.dirty if git.in_git else None,
    )
    workspace = session.graph.workspace.name
    teardown: list[Teardown] = []
    kept: list[str] = []
    for name, target in session.selection.managed_targets:
        target_type = session.types[target.type]
        teardown.append(Teardown(name, target_type.infrastructure(workspace, name, live.targets.get(name))))
        kept += target_type.kept_by_destroy(workspace, name, target)
    return DestroyPlan(
        plan,
        tuple(teardown),
        tuple(name for name, _ in session.selection.managed_targets),
        tuple(dict.fromkeys(kept)) + workspace_kept(session),
    )


def workspace_kept(session: Session) -> tuple[str, ...]:
    """What destroy never removes from the workspace itself, and how to remove each."""
    ws = session.graph.workspace.spec
    root = session.root
    artifacts = root / ws.artifacts[len("file://") :] if ws.artifacts.startswith("file://") else ws.artifacts
    if ws.registry.startswith("sqlite:///"):
        whole = f"delete {root / ws.registry[len('sqlite:///') :]} and {artifacts}"
    else:
        whole = f"drop its database and empty {artifacts}"
    images = ws.image_registry or "the Workspace's imageRegistry"
    return (
        f"the model and image registry ({ws.registry}) with every version and the history: remove a model "
        f"with `modelctl models delete NAME`, or the whole registry: {whole}",
        f"images pushed to {images}: delete their tags with your registry's tools (e.g. `crane delete`)",
        f"secrets under {root / '.modelctl' / 'secrets'} (generated API keys, your local secret files): "
        "rm -r that folder",
    )


def _teardown(session: Session, destroy: DestroyPlan, outcome: Outcome) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Remove each target's infrastructure, unless a delete on that target failed (its router still routes)."""
    failed_on = {
        a.target for a in destroy.plan.actions for r in outcome.results if r.resource == a.resource and r.result != "ok"
    }
    targets = session.graph.workspace.spec.targets
    removed: list[str] = []
    failed: list[str] = []
    for item in destroy.teardown:
        if not item.items:
            continue
        if item.target in failed_on:
            failed.append(f"target {item.target}: kept {', '.join(item.items)} (a delete on it failed)")
            continue
        target = targets[item.target]
        try:
            session.connection(target.type).teardown(item.target, target, progress=lambda _text: None)
        except Exception as exc:  # noqa: BLE001 - reported as the destroy's failure, never a traceback
            failed.append(f"target {item.target}: {type(exc).__name__}: {exc}")
            continue
        removed += [f"{text} (target {item.target})" for text in item.items]
    return tuple(removed), tuple(failed)
