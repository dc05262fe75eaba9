"""Wiring for one command: the only place that knows both the pipeline (plan) and the concrete
target types (`compiler.targets.TARGET_TYPES`). `Session` compiles the repo once, reads git once,
selects once and opens the backends; `apply_repo` / `apply_saved` / `destroy_repo` / `detect_drift` are what the CLI
and the reconciler call.
"""

from .destroy import DestroyPlan, DestroyRun, destroy_repo
from .drift import detect_drift
from .run import ApplyRun, DirtyTree, apply_planned, apply_repo, apply_saved
from .session import Session

__all__ = [
    "ApplyRun",
    "DestroyPlan",
    "DestroyRun",
    "DirtyTree",
    "Session",
    "apply_planned",
    "apply_repo",
    "apply_saved",
    "destroy_repo",
    "detect_drift",
]
