"""The plan as frozen data: actions with field-level diffs and reasons, in dependency order.

A Plan is computed by `diff.make_plan` from the graph and a `LiveState`; it is serialised by
`document` and executed by `apply`. It never holds a secret value (only secret names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ActionKind = Literal["create", "update", "replace", "delete", "no-op"]
CHANGE_KINDS = ("create", "update", "replace", "delete")


@dataclass(frozen=True)
class FieldDiff:
    path: str       # "spec.resources.memory", "image", "artifact.digest"
    before: Any     # JSON value; None when absent
    after: Any


@dataclass(frozen=True)
class Action:
    resource: str                   # "Deployment/iris-local"
    action: ActionKind
    reasons: tuple[str, ...] = ()
    diffs: tuple[FieldDiff, ...] = ()
    depends_on: tuple[str, ...] = ()  # resources whose actions must finish first
    target: str | None = None       # deployment target name (Deployment actions)
    fingerprint: str | None = None  # desired fingerprint (None for delete)
    detail: tuple[tuple[str, Any], ...] = ()  # extra JSON facts: predicted versions, image ref, …

    def __post_init__(self) -> None:  # one canonical order, so a plan equals its JSON round trip
        object.__setattr__(self, "detail", tuple(sorted(self.detail, key=lambda kv: kv[0])))

    @property
    def kind(self) -> str:
        return self.resource.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.resource.split("/", 1)[1]

    @property
    def is_change(self) -> bool:
        return self.action in CHANGE_KINDS

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.detail).get(key, default)


@dataclass(frozen=True)
class NotApplied:
    """A resource this version plans but does not apply (rendered only): shown, never skipped silently."""
    resource: str
    target: str
    reason: str


@dataclass(frozen=True)
class Scope:
    """What the plan covers; apply re-reads live state with the same scope."""
    resources: tuple[str, ...] = ()   # --target KIND/NAME (empty: everything)
    targets: tuple[str, ...] = ()     # --targets NAME|TYPE (empty: every target)
    prune: bool = True
    stage: str | None = None


@dataclass(frozen=True)
class Plan:
    workspace: str
    root: str
    scope: Scope
    actions: tuple[Action, ...]                # dependency order, no-ops included
    stages: tuple[tuple[str, ...], ...]        # changed resources per stage; a stage runs in parallel
    live_fingerprint: str
    not_applied: tuple[NotApplied, ...] = ()
    git_commit: str | None = None
    created_at: str | None = None
    warnings: tuple[str, ...] = field(default=())
    git_branch: str | None = None
    git_dirty: bool | None = None   # None: not made from a git checkout

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.is_change]

    @property
    def has_changes(self) -> bool:
        return any(a.is_change for a in self.actions)

    def action(self, resource: str) -> Action:
        for a in self.actions:
            if a.resource == resource:
                return a
        raise KeyError(resource)

    def counts(self) -> dict[str, int]:
        """Terraform's summary: a replace counts as one add and one destroy."""
        add = sum(a.action in ("create", "replace") for a in self.actions)
        change = sum(a.action == "update" for a in self.actions)
        destroy = sum(a.action in ("delete", "replace") for a in self.actions)
        return {"add": add, "change": change, "destroy": destroy}
