"""The drift check against the real backends: open a read-only session, read live state, classify.

report = detect_drift(Path("examples/iris"), Scope(targets=("local",)))
report.exit_code   # 0 in sync, 2 drift
"""

from __future__ import annotations

from pathlib import Path

from ..gitops.drift import DriftReport, find_drift
from ..plan.deployments import deployment_spec_json
from ..plan.model import Plan, Scope
from ..plan.target import TargetTypes
from ..targets import TARGET_TYPES
from .session import Session


def detect_drift(root: Path, scope: Scope = Scope(), *, types: TargetTypes = TARGET_TYPES) -> DriftReport:
    """Read-only: never creates the registry, takes no lock, writes nothing."""
    with Session.open(Path(root), scope, types=types) as session:
        return drift_of(session)[0]


def drift_of(session: Session) -> tuple[DriftReport, Plan]:
    """The session's drift report and the plan it was read from (a self-heal applies that plan)."""
    live = session.read_live()
    plan = session.plan(live)
    graph, scope = session.graph, session.scope
    specs = {n.id: deployment_spec_json(n) for n in graph.of_kind("Deployment")}
    targets = {
        name: t.type
        for name, t in graph.workspace.spec.targets.items()
        if not scope.targets or name in scope.targets or t.type in scope.targets
    }
    return find_drift(plan, live, specs=specs, targets=targets, types=session.types), plan
