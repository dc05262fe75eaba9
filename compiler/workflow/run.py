"""Apply as a library call, shared by `modelctl apply` and the reconciler (`modelctl reconcile --self-heal`).

    run = apply_repo(Path("examples/iris"), Scope(targets=("local",)), confirm=None)   # None: auto-approve
    run.plan, run.outcome   # outcome is None when there was nothing to do (or it was not confirmed)

The flow: compile the repo and read git once (refuse uncommitted changes unless allow_dirty), plan
against live state; with nothing to do return before taking the lock (zero writes); otherwise take
the workspace lock, re-read live state, plan again from the same compile (a saved plan: refuse when
live state moved), confirm, execute. Commit, branch and dirtiness go into the plan and every history row.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ApplyError, StalePlan
from ..gitinfo import GitInfo
from ..graph import Graph
from ..plan.apply import Outcome, Reporter, execute
from ..plan.document import read_plan
from ..plan.lock import workspace_lock
from ..plan.model import Plan, Scope
from ..plan.target import TargetTypes
from ..targets import TARGET_TYPES
from .session import Session, read_work_tree

Confirm = Callable[[Plan], bool]
Show = Callable[[Plan], None]
Note = Callable[[str], None]


class DirtyTree(ApplyError):
    """The repo has uncommitted changes and --allow-dirty was not given."""


@dataclass(frozen=True)
class ApplyRun:
    plan: Plan
    outcome: Outcome | None  # None: nothing to do, or not confirmed
    git: GitInfo
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.cancelled and (self.outcome is None or self.outcome.ok)


def check_work_tree(
    root: Path, *, allow_dirty: bool, note: Note, ignore: tuple[Path, ...] = (), types: TargetTypes = TARGET_TYPES
) -> GitInfo:
    """Read the work tree of the repo at root and refuse uncommitted changes unless allowed (a command
    that compiled the repo has its session's GitInfo: use refuse_dirty)."""
    from ..diagnostics import DiagnosticError
    from ..pipeline import load_workspace

    try:
        targets = load_workspace(root).spec.targets
    except (DiagnosticError, OSError):  # a broken workspace is reported by the compile that follows
        targets = {}
    git = read_work_tree(Path(root), targets, types, ignore)
    refuse_dirty(git, Path(root), allow_dirty=allow_dirty, note=note)
    return git


def refuse_dirty(git: GitInfo, root: Path, *, allow_dirty: bool, note: Note) -> None:
    """Refuse uncommitted changes under root unless allowed; outside git, say so and go on."""
    if not git.in_git:
        note(f"{root} is not in a git checkout: applying its files as they are (no commit is recorded)")
    elif git.dirty:
        shown = ", ".join(git.changed[:5]) + (f" and {len(git.changed) - 5} more" if len(git.changed) > 5 else "")
        if not allow_dirty:
            raise DirtyTree(
                f"the repo has uncommitted changes ({shown}); commit them so the history says what "
                "was applied, or pass --allow-dirty"
            )
        note(
            f"applying uncommitted changes (--allow-dirty): {shown}; recorded as commit "
            f"{(git.commit or 'none')[:12]} (dirty)"
        )


def apply_repo(
    root: Path,
    scope: Scope = Scope(),
    *,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    allow_dirty: bool = False,
    show: Show = lambda _plan: None,
    note: Note = lambda _text: None,
    types: TargetTypes = TARGET_TYPES,
    force_conflicts: bool = False,
) -> ApplyRun:
    """Plan the repo against live state and apply it. confirm=None approves; show gets the plan to apply.
    force_conflicts: take over fields another field manager owns (kubernetes server-side apply)."""
    with Session.open(Path(root), scope, types=types) as session:
        session.force_conflicts = force_conflicts
        refuse_dirty(session.git, session.root, allow_dirty=allow_dirty, note=note)
        return apply_planned(session, session.plan(), reporter=reporter, confirm=confirm, show=show, note=note)


def apply_planned(
    session: Session,
    plan: Plan,
    *,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    show: Show = lambda _plan: None,
    note: Note = lambda _text: None,
) -> ApplyRun:
    """Apply a plan just made in this session (e.g. the reconciler's drift plan). With no changes it
    returns at once: no lock, no write of any kind. Inside the lock live state is read again; the plan
    is made again only when live state moved."""
    if not plan.has_changes:
        show(plan)
        return ApplyRun(plan, None, session.git)
    return _locked(session.writable(), None, plan, reporter, confirm, show, note)


def apply_saved(
    path: Path,
    *,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    allow_dirty: bool = False,
    show: Show = lambda _plan: None,
    note: Note = lambda _text: None,
    types: TargetTypes = TARGET_TYPES,
    force_conflicts: bool = False,
) -> ApplyRun:
    """Apply exactly a plan saved by `plan --out`; refuse it when the repo or live state moved since."""
    saved = read_plan(path)
    with Session.open(Path(saved.root), saved.scope, types=types, writable=True, ignore=(Path(path),)) as session:
        session.force_conflicts = force_conflicts
        refuse_dirty(session.git, session.root, allow_dirty=allow_dirty, note=note)
        check_repo(saved, session.graph)
        return _locked(session, (path, saved), None, reporter, confirm, show, note)


def _locked(
    session: Session,
    saved: tuple[Path, Plan] | None,
    made: Plan | None,
    reporter: Reporter | None,
    confirm: Confirm | None,
    show: Show,
    note: Note,
) -> ApplyRun:
    assert session.registry is not None
    with workspace_lock(session.registry, session.graph.workspace.name) as lease:
        for text in lease.notes:
            note(text)
        live = session.read_live()
        if saved is not None:
            path, plan = saved
            if live.fingerprint() != plan.live_fingerprint:
                raise StalePlan(
                    f"the saved plan {path} is stale: live state changed since it was made "
                    f"(fingerprint {plan.live_fingerprint[:12]} → {live.fingerprint()[:12]}). "
                    "Run 'modelctl plan' again and review the new plan."
                )
        elif made is not None and live.fingerprint() == made.live_fingerprint:
            plan = made  # nothing moved between the plan and the lock
        else:
            plan = session.plan(live)
        show(plan)
        if not plan.has_changes:
            return ApplyRun(plan, None, session.git)
        if confirm is not None and not confirm(plan):
            return ApplyRun(plan, None, session.git, cancelled=True)
        outcome = execute_plan(session, plan, reporter, lost=lease.lost.is_set)
    return ApplyRun(plan, outcome, session.git)


def execute_plan(session: Session, plan: Plan, reporter: Reporter | None, *, lost: Callable[[], bool]) -> Outcome:
    """Carry out `plan` with the session's services, recording the session's git facts (under the lock)."""
    context: AbstractContextManager[Any] = (
        reporter if isinstance(reporter, AbstractContextManager) else nullcontext(reporter)
    )
    with context as active:
        git = session.git
        return execute(
            plan,
            session.graph,
            session.services(),
            session.types,
            reporter=active,
            git_commit=git.commit,
            git_branch=git.branch,
            git_dirty=git.dirty if git.in_git else None,
            lost=lost,
        )


def check_repo(plan: Plan, graph: Graph) -> None:
    """A saved plan is applied against the repo it came from; a changed repo makes it stale too."""
    for a in plan.actions:
        if a.action == "delete" or a.fingerprint is None:
            continue
        node = graph.nodes.get(a.resource)
        if node is None or node.fingerprint != a.fingerprint:
            raise StalePlan(
                f"the saved plan is stale: {a.resource} changed in the repo since the plan was made. "
                "Run 'modelctl plan' again."
            )
