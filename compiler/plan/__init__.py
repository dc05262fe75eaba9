"""Plan and apply: diff the repo against live state, then change only what the plan shows.

    plan = make_plan(graph, live, types=TARGET_TYPES, scope=Scope(targets=("local",)))   # compiler.targets
    print(render_text(plan)); write_plan(plan, Path("plan.json"))

See docs/plan-apply.md.
"""

from ..errors import ApplyError, PlanError, StalePlan
from .diff import make_destroy_plan, make_plan
from .model import Action, FieldDiff, NotApplied, Plan, Scope
from .state import LiveState

__all__ = [
    "Action",
    "ApplyError",
    "FieldDiff",
    "LiveState",
    "NotApplied",
    "Plan",
    "PlanError",
    "Scope",
    "StalePlan",
    "make_destroy_plan",
    "make_plan",
]
