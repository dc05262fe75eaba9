"""Rollbacks as plans see them, pure: a deployment `modelctl rollback` put back to an earlier revision.

The target keeps a `RollbackMark` (from → to) beside what it serves. While the target serves the
mark's `to` and git still wants its `from`, the deployment is *held by a rollback*: the plan shows
git and live apart and says so, `drift` reports it as expected ("rolled-back"), and `reconcile
--self-heal` leaves it alone. An explicit `apply` rolls forward. As soon as git wants anything else
(git reverted to the rolled-back revision, or a new change) the mark no longer holds anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .model import Action, Plan, Stage
from .state import LiveState
from .target import REVISION_ID_LEN, RollbackMark, TargetTypes


def holds(action: Action, mark: RollbackMark | None) -> bool:
    """Whether the mark holds the deployment's planned change back (git still wants what was rolled away from)."""
    return (
        mark is not None
        and action.kind == "Deployment"
        and action.action == "update"
        and action.fingerprint == mark.from_fingerprint
    )


def reason(mark: RollbackMark) -> str:
    """The line a plan and drift show for a held deployment."""
    at = mark.at.replace("T", " ").split(".", 1)[0].removesuffix("+00:00") + " UTC"
    return (
        f"rolled back at {at} by {mark.by}: git wants {mark.from_fingerprint[:REVISION_ID_LEN]}, live runs "
        f"{mark.to_fingerprint[:REVISION_ID_LEN]}; revert in git to keep it, or apply to roll forward"
    )


def noted(action: Action, mark: RollbackMark | None) -> Action:
    """The action with the rollback's line first when the mark holds it."""
    return replace(action, reasons=(reason(mark), *action.reasons)) if mark and holds(action, mark) else action


def held(
    actions: tuple[Action, ...], live: LiveState, target_types: Mapping[str, str], types: TargetTypes
) -> dict[str, RollbackMark]:
    """resource → mark, for every planned deployment change a rollback holds back.
    target_types: target name → its type name."""
    out = {}
    for a in actions:
        type_name = target_types.get(a.target or "", "")
        if a.kind != "Deployment" or type_name not in types:
            continue
        mark = types[type_name].rollback_mark(live.targets.get(a.target or ""), a.name)
        if mark is not None and holds(a, mark):
            out[a.resource] = mark
    return out


def without(plan: Plan, resources: set[str] | frozenset[str]) -> Plan:
    """The plan with these resources' changes left out (as no-ops): what `reconcile --self-heal` applies."""
    if not resources:
        return plan
    actions = tuple(replace(a, action="no-op") if a.resource in resources else a for a in plan.actions)
    stages = tuple(
        Stage(kept, s.deletes) for s in plan.stages if (kept := tuple(r for r in s.resources if r not in resources))
    )
    return replace(plan, actions=actions, stages=stages)
