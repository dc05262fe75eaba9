"""Apply as a library call, shared by `modelctl apply` and the reconciler (`modelctl reconcile --self-heal`).

    run = apply_repo(Path("examples/iris"), Scope(targets=("local",)), confirm=None)   # None: auto-approve
    run.plan, run.outcome   # outcome is None when there was nothing to do (or it was not confirmed)

The flow: check the git work tree (refuse uncommitted changes unless allow_dirty), plan against
live state; with nothing to do return before taking the lock (zero writes); otherwise take the
workspace lock, re-read live state, plan again (a saved plan: refuse when live state moved),
confirm, execute. Commit, branch and dirtiness go into the plan and every history row.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..gitops.revision import GitInfo, work_tree_info
from .apply import Outcome, Reporter, execute
from .document import read_plan
from .errors import ApplyError, PlanError, StalePlan
from .lock import workspace_lock
from .model import Plan, Scope
from .session import Session

Confirm = Callable[[Plan], bool]
Show = Callable[[Plan], None]
Note = Callable[[str], None]


class DirtyTree(ApplyError):
    """The repo has uncommitted changes and --allow-dirty was not given."""


@dataclass(frozen=True)
class ApplyRun:
    plan: Plan
    outcome: Outcome | None        # None: nothing to do, or not confirmed
    git: GitInfo
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return not self.cancelled and (self.outcome is None or self.outcome.ok)


def publish_folders(root: Path) -> tuple[Path, ...]:
    """Repo folders that edge / fpga targets publish into: apply's own output, like .modelctl/."""
    from ..diagnostics import DiagnosticError
    from ..pipeline import load_workspace
    from ..targets.publish.location import FileLocation, parse_location
    from .scope import PUBLISH_TARGET_TYPES
    try:
        ws = load_workspace(root)
    except (DiagnosticError, OSError):  # a broken workspace is reported by the compile that follows
        return ()
    out = []
    for name, target in sorted(ws.spec.targets.items()):
        if target.type in PUBLISH_TARGET_TYPES:
            try:
                location = parse_location(target.publish, root, name)
            except PlanError:
                continue
            if isinstance(location, FileLocation):
                out.append(location.folder)
    return tuple(out)


def check_work_tree(root: Path, *, allow_dirty: bool, note: Note, ignore: tuple[Path, ...] = ()) -> GitInfo:
    """Refuse uncommitted changes under root unless allowed; outside git, say so and go on."""
    git = work_tree_info(root, ignore + publish_folders(root))
    if not git.in_git:
        note(f"{root} is not in a git checkout: applying its files as they are (no commit is recorded)")
    elif git.dirty:
        shown = ", ".join(git.changed[:5]) + (f" and {len(git.changed) - 5} more" if len(git.changed) > 5 else "")
        if not allow_dirty:
            raise DirtyTree(f"the repo has uncommitted changes ({shown}); commit them so the history says what "
                            "was applied, or pass --allow-dirty")
        note(f"applying uncommitted changes (--allow-dirty): {shown}; recorded as commit "
             f"{(git.commit or 'none')[:12]} (dirty)")
    return git


def apply_repo(root: Path, scope: Scope = Scope(), *, reporter: Reporter | None = None, confirm: Confirm | None = None,
               allow_dirty: bool = False, show: Show = lambda _plan: None, note: Note = lambda _text: None) -> ApplyRun:
    """Plan the repo against live state and apply it. confirm=None approves; show gets the plan to apply."""
    git = check_work_tree(Path(root), allow_dirty=allow_dirty, note=note)
    with Session.open(Path(root), scope, writable=False) as session:
        plan = session.plan()
    if not plan.has_changes:
        show(plan)
        return ApplyRun(plan, None, git)  # nothing to do: no lock, no write of any kind
    with Session.open(Path(root), scope, writable=True) as session:
        return _locked(session, git, None, reporter, confirm, show, note)


def apply_saved(path: Path, *, reporter: Reporter | None = None, confirm: Confirm | None = None,
                allow_dirty: bool = False, show: Show = lambda _plan: None, note: Note = lambda _text: None) -> ApplyRun:
    """Apply exactly a plan saved by `plan --out`; refuse it when the repo or live state moved since."""
    saved = read_plan(path)
    git = check_work_tree(Path(saved.root), allow_dirty=allow_dirty, note=note, ignore=(Path(path),))
    with Session.open(Path(saved.root), saved.scope, writable=True) as session:
        check_repo(saved, session.graph)
        return _locked(session, git, (path, saved), reporter, confirm, show, note)


def _locked(session: Session, git: GitInfo, saved: tuple[Path, Plan] | None, reporter: Reporter | None,
            confirm: Confirm | None, show: Show, note: Note) -> ApplyRun:
    with workspace_lock(session.registry, session.graph.workspace.name) as lease:
        for text in lease.notes:
            note(text)
        live = session.read_live()
        if saved is not None:
            path, plan = saved
            if live.fingerprint() != plan.live_fingerprint:
                raise StalePlan(f"the saved plan {path} is stale: live state changed since it was made "
                                f"(fingerprint {plan.live_fingerprint[:12]} → {live.fingerprint()[:12]}). "
                                "Run 'modelctl plan' again and review the new plan.")
        else:
            plan = session.plan(live)
        show(plan)
        if not plan.has_changes:
            return ApplyRun(plan, None, git)
        if confirm is not None and not confirm(plan):
            return ApplyRun(plan, None, git, cancelled=True)
        context = reporter if hasattr(reporter, "__enter__") else nullcontext(reporter)
        with context as active:
            outcome = execute(plan, session.graph, session.services(), reporter=active, git_commit=git.commit,
                              git_branch=git.branch, git_dirty=git.dirty if git.in_git else None,
                              lost=lease.lost.is_set)
    return ApplyRun(plan, outcome, git)


def check_repo(plan: Plan, graph) -> None:  # noqa: ANN001
    """A saved plan is applied against the repo it came from; a changed repo makes it stale too."""
    for a in plan.actions:
        if a.action == "delete" or a.fingerprint is None:
            continue
        node = graph.nodes.get(a.resource)
        if node is None or node.fingerprint != a.fingerprint:
            raise StalePlan(f"the saved plan is stale: {a.resource} changed in the repo since the plan was made. "
                            "Run 'modelctl plan' again.")
