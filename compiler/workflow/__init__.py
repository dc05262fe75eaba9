"""Wiring for one command: the only place that knows both the pipeline (plan) and the concrete
target types (`compiler.targets.TARGET_TYPES`). `Session` compiles the repo once, reads git once,
selects once and opens the backends; `apply_repo` / `apply_saved` / `detect_drift` are what the CLI
and the reconciler call.
"""

from .drift import detect_drift
from .run import ApplyRun, DirtyTree, apply_planned, apply_repo, apply_saved
from .session import Session

__all__ = ["ApplyRun", "DirtyTree", "Session", "apply_planned", "apply_repo", "apply_saved", "detect_drift"]
