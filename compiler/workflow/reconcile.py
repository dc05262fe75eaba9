"""The reconciler's real steps: git pull --ff-only, a drift check of the repo, and the shared apply.

The loop itself (`compiler.gitops.reconcile.run`) is pure and takes these as `Steps`. A cycle
compiles the repo once: heal() applies the plan detect() made, from the same session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..gitops.drift import DriftItem, DriftReport
from ..gitops.reconcile import ReconcileError
from ..plan import rollback
from ..plan.model import Plan, Scope
from .drift import drift_of
from .run import apply_planned, refuse_dirty
from .session import Session


class RepoSteps:
    """git pull --ff-only, a drift check of the repo, and the shared apply."""

    def __init__(self, root: Path, scope: Scope, *, allow_dirty: bool = False) -> None:
        self.root, self.scope, self.allow_dirty = Path(root), scope, allow_dirty
        self._detected: tuple[Session, Plan] | None = None  # the last check's session and drift plan
        self._held: list[DriftItem] = []  # the last check's deployments held by a rollback

    def pull(self) -> dict[str, Any]:
        import git

        try:
            repo = git.Repo(self.root, search_parent_directories=True)
            before = repo.head.commit.hexsha
            repo.git.pull("--ff-only")
            after = repo.head.commit.hexsha
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise ReconcileError(f"--pull: {self.root} is not inside a git checkout") from None
        except git.GitCommandError as err:
            detail = (err.stderr or "").strip().replace("\n", " ")[:500]
            raise ReconcileError(f"git pull --ff-only failed: {detail}") from None
        return {"from": before, "to": after, "changed": before != after}

    def detect(self) -> DriftReport:
        self._forget()
        session = Session.open(self.root, self.scope)
        try:
            report, plan = drift_of(session)
        except BaseException:
            session.close()
            raise
        self._held = report.rolled_back
        if report.real:  # kept for heal(), which only follows real drift
            self._detected = (session, plan)
        else:
            session.close()
        return report

    def heal(self) -> dict[str, Any]:
        """Apply the drift plan just shown, from the same compile (re-planned only if live state moved)."""
        if self._detected is None:
            self.detect()
        assert self._detected is not None
        session, plan = self._detected
        session.hold_rollbacks = True  # a rollback is expected drift: self-heal never undoes it
        plan = rollback.without(plan, {i.resource for i in self._held})
        try:
            refuse_dirty(session.git, session.root, allow_dirty=self.allow_dirty, note=lambda _text: None)
            run = apply_planned(session, plan)
        finally:
            self._forget()
        outcome = run.outcome
        return {
            "ok": run.ok,
            "runId": outcome.run_id if outcome else None,
            "commit": run.git.commit,
            "results": [
                {
                    "resource": r.resource,
                    "action": r.action,
                    "result": r.result,
                    **({"message": r.message[:500]} if r.message else {}),
                }
                for r in (outcome.results if outcome else [])
            ],
        }

    def _forget(self) -> None:
        if self._detected is not None:
            self._detected[0].close()
            self._detected = None

    def close(self) -> None:
        self._forget()
