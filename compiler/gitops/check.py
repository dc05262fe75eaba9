"""The drift check against the real backends: open a read-only session, read live state, classify.

    report = detect_drift(Path("examples/iris"), Scope(targets=("local",)))
    report.exit_code   # 0 in sync, 2 drift
"""

from __future__ import annotations

from pathlib import Path

from ..plan.diff import deployment_spec_json
from ..plan.model import Scope
from ..plan.session import Session
from .drift import DriftReport, find_drift


def detect_drift(root: Path, scope: Scope = Scope()) -> DriftReport:
    """Read-only: never creates the registry, takes no lock, writes nothing."""
    with Session.open(Path(root), scope, writable=False) as session:
        live = session.read_live()
        plan = session.plan(live)
        graph = session.graph
    specs = {n.id: deployment_spec_json(n) for n in graph.of_kind("Deployment")}
    targets = {name: t.type for name, t in graph.workspace.spec.targets.items()
               if not scope.targets or name in scope.targets or t.type in scope.targets}
    return find_drift(plan, live, specs=specs, targets=targets)
