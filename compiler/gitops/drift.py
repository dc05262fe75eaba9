"""Drift: what differs between live state and git, and why. Pure: works on a Plan and a LiveState.

Every change a plan shows is drift of one of three kinds:
- "by-hand": live differs while the registry's record of the last apply matches git — somebody
  stopped, removed or replaced something by hand (or it crashed);
- "pending": git changed since the last apply (or it was never applied) — apply has not run yet;
- "expected": only fields owned by the target or a controller differ (e.g. replicas under an
  autoscaler); reported, never counted as drift;
- "rolled-back": `modelctl rollback` put an earlier revision back and git still wants the one it
  replaced (`compiler/plan/rollback.py`); expected, never healed by `reconcile --self-heal`, and
  the check exits 3 when nothing else drifted.
Targets whose type apply does not manage (a render-only type) are "not checked".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from ..plan import rollback
from ..plan.model import Action, Plan, Removal
from ..plan.state import LiveState
from ..plan.target import TargetTypes
from ..targets import TARGET_TYPES

DriftKind = Literal["by-hand", "pending", "expected", "rolled-back"]
KIND_TITLES = {
    "by-hand": "changed by hand since the last apply",
    "pending": "pending: git changed since the last apply",
    "expected": "expected (fields owned by the target, not drift)",
    "rolled-back": "expected: rolled back (modelctl rollback; reconcile leaves it until git is reverted or apply rolls forward)",
}
NOT_DRIFT: tuple[DriftKind, ...] = ("expected", "rolled-back")


@dataclass(frozen=True)
class OwnedField:
    """A field whose live value belongs to someone else than git, under a condition on the desired spec."""

    path: str
    owner: str
    applies: Callable[[Mapping[str, Any], str], bool]  # (desired spec as JSON, target type name) → owned?


def _autoscaled(spec: Mapping[str, Any], target_type: str) -> bool:
    # a target type without an autoscaler (docker) runs spec.replicas containers and warns at validate
    known = TARGET_TYPES.get(target_type)
    return bool(spec.get("autoscale")) and (known is None or known.has_autoscaler)


OWNED_FIELDS: tuple[OwnedField, ...] = (OwnedField("spec.replicas", "the autoscaler (spec.autoscale)", _autoscaled),)


def owner_of(
    path: str, spec: Mapping[str, Any], target_type: str, rules: tuple[OwnedField, ...] = OWNED_FIELDS
) -> str | None:
    """Who owns the field at `path` (it and everything below it), or None when git does."""
    for rule in rules:
        if (path == rule.path or path.startswith(rule.path + ".")) and rule.applies(spec, target_type):
            return rule.owner
    return None


@dataclass(frozen=True)
class FieldDrift:
    path: str
    live: Any
    git: Any
    owner: str | None = None  # set: an expected difference


@dataclass(frozen=True)
class DriftItem:
    resource: str
    action: str  # what apply would do: create | update | replace | delete
    kind: DriftKind
    reasons: tuple[str, ...]
    fields: tuple[FieldDrift, ...] = ()
    target: str | None = None


@dataclass(frozen=True)
class NotChecked:
    target: str
    type: str
    resources: tuple[str, ...]
    reason: str = "render only: apply does not manage this target type yet"


@dataclass(frozen=True)
class DriftReport:
    workspace: str
    items: tuple[DriftItem, ...]
    checked: tuple[str, ...]  # targets compared with live state
    not_checked: tuple[NotChecked, ...] = ()
    git: Mapping[str, Any] = field(default_factory=dict)  # commit, branch, dirty

    @property
    def real(self) -> list[DriftItem]:
        return [i for i in self.items if i.kind not in NOT_DRIFT]

    @property
    def rolled_back(self) -> list[DriftItem]:
        return [i for i in self.items if i.kind == "rolled-back"]

    @property
    def exit_code(self) -> int:
        """0 in sync, 2 drift, 3 no drift but a rollback holds live state apart from git."""
        return 2 if self.real else 3 if self.rolled_back else 0

    def count(self, kind: DriftKind) -> int:
        return sum(i.kind == kind for i in self.items)


def find_drift(
    plan: Plan,
    live: LiveState,
    *,
    specs: Mapping[str, Mapping[str, Any]],
    targets: Mapping[str, str],
    types: TargetTypes = TARGET_TYPES,
) -> DriftReport:
    """plan: git against live; specs: desired deployment specs (JSON) by resource; targets: name → type in scope."""
    held = rollback.held(plan.actions, live, targets, types)
    items = tuple(
        _item(a, live, specs.get(a.resource, {}), targets.get(a.target or "", ""), a.resource in held)
        for a in plan.actions
        if a.is_change
    ) + _expected(plan, live, specs, targets, types)
    render_only: dict[str, list[str]] = {}
    for n in plan.not_applied:
        if n.resource.startswith("Deployment/"):
            render_only.setdefault(n.target, []).append(n.resource)
    not_checked = tuple(
        NotChecked(t, kind, tuple(sorted(render_only.get(t, ()))))
        for t, kind in sorted(targets.items())
        if not types[kind].applies
    )
    git = {"commit": plan.git_commit, "branch": plan.git_branch, "dirty": plan.git_dirty}
    return DriftReport(
        plan.workspace, items, tuple(sorted(t for t, k in targets.items() if types[k].applies)), not_checked, git
    )


def _expected(
    plan: Plan,
    live: LiveState,
    specs: Mapping[str, Mapping[str, Any]],
    targets: Mapping[str, str],
    types: TargetTypes,
) -> tuple[DriftItem, ...]:
    """Differences a target type reports as owned by someone else on purpose, for deployments in sync."""
    out = []
    for a in plan.actions:
        target = a.target or ""
        if a.kind != "Deployment" or a.is_change or target not in targets or targets[target] not in types:
            continue
        found = types[targets[target]].expected_differences(live.targets.get(target), a.name, specs.get(a.resource, {}))
        for diff, owner in found:
            out.append(
                DriftItem(
                    a.resource,
                    "keep",
                    "expected",
                    (f"{diff.path} is set by {owner}",),
                    (FieldDrift(diff.path, diff.before, diff.after, owner),),
                    target,
                )
            )
    return tuple(out)


def _item(action: Action, live: LiveState, spec: Mapping[str, Any], target_type: str, held: bool = False) -> DriftItem:
    fields = tuple(FieldDrift(d.path, d.before, d.after, owner_of(d.path, spec, target_type)) for d in action.diffs)
    kind: DriftKind = "rolled-back" if held else _kind(action, live)
    if (
        kind == "by-hand"
        and fields
        and all(f.owner for f in fields)
        and all(r.startswith("roll out") for r in action.reasons)
    ):
        kind = "expected"
    return DriftItem(action.resource, action.action, kind, action.reasons, fields, action.target)


def _kind(action: Action, live: LiveState) -> DriftKind:
    if action.kind == "Model":
        return "pending"  # the registry's latest version has another digest: git changed
    if action.kind == "Image":
        fact = live.images.get(action.name)
        # registered with this fingerprint, yet planned: its tag or reference went missing
        return "by-hand" if fact is not None and fact.fingerprint == action.fingerprint else "pending"
    name = action.change.name if isinstance(action.change, Removal) else action.name.split("@", 1)[0]
    record = live.record(action.target or "", name)
    if action.action == "delete":
        return "pending" if record is not None else "by-hand"
    if record is None:  # never recorded: by hand when the target runs it anyway (an update, not a create)
        return "by-hand" if action.kind == "Deployment" and action.action != "create" else "pending"
    return "by-hand" if record.fingerprint == action.fingerprint else "pending"


# --- output --------------------------------------------------------------------------------------


def to_json(report: DriftReport) -> dict:
    return {
        "kind": "modelctl-drift",
        "schemaVersion": 1,
        "workspace": report.workspace,
        "git": dict(report.git),
        "drift": bool(report.real),
        "summary": {k: report.count(k) for k in KIND_TITLES},  # type: ignore[arg-type]
        "checkedTargets": list(report.checked),
        "notChecked": [
            {"target": n.target, "type": n.type, "resources": list(n.resources), "reason": n.reason}
            for n in report.not_checked
        ],
        "items": [
            {
                "resource": i.resource,
                "target": i.target,
                "kind": i.kind,
                "action": i.action,
                "reasons": list(i.reasons),
                "fields": [
                    {"path": f.path, "live": f.live, "git": f.git, **({"owner": f.owner} if f.owner else {})}
                    for f in i.fields
                ],
            }
            for i in report.items
        ],
    }


def _value(v: Any) -> str:
    return "(none)" if v is None else v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def _summary(report: DriftReport) -> str:
    if not report.real:
        where = ", ".join(report.checked) or "none"
        extra = f" ({report.count('expected')} expected difference(s))" if report.count("expected") else ""
        if report.rolled_back:
            return (
                f"No drift to heal: {len(report.rolled_back)} deployment(s) rolled back on purpose, held apart "
                f"from git (expected); the rest matches git on the checked targets ({where}){extra}."
            )
        return f"No drift: live state matches git on the checked targets ({where}){extra}."
    return (
        f"Drift: {report.count('by-hand')} changed by hand, {report.count('pending')} pending, "
        f"{report.count('expected')} expected"
        + (f", {report.count('rolled-back')} rolled back." if report.rolled_back else ".")
    )


def _git_line(report: DriftReport) -> str:
    commit = report.git.get("commit")
    if not commit:
        return "not a git checkout"
    dirty = " (uncommitted changes)" if report.git.get("dirty") else ""
    return f"git {commit[:12]}" + (f" on {report.git['branch']}" if report.git.get("branch") else "") + dirty


def render_text(report: DriftReport) -> str:
    lines = [f"Drift check of workspace {report.workspace} against {_git_line(report)}"]
    for kind, title in KIND_TITLES.items():
        items = [i for i in report.items if i.kind == kind]
        if not items:
            continue
        lines += ["", f"{title}:"]
        for i in items:
            on = f" (target {i.target})" if i.target else ""
            lines.append(f"  {i.resource}{on}: apply would {i.action}")
            lines += [f"      {r}" for r in i.reasons]
            for f in i.fields:
                owned = f"  [owned by {f.owner}]" if f.owner else ""
                lines.append(f"      {f.path}: live {_value(f.live)} → git {_value(f.git)}{owned}")
    for n in report.not_checked:
        what = ", ".join(n.resources) or "no deployments"
        lines += ["", f"not checked: target {n.target} ({n.type}): {n.reason} ({what})"]
    lines += ["", _summary(report)]
    return "\n".join(lines) + "\n"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: DriftReport) -> str:
    lines = [f"### modelctl drift: {report.workspace}", "", _summary(report), "", f"_{_git_line(report)}_", ""]
    if report.items:
        lines += ["| resource | target | kind | apply would | why |", "|---|---|---|---|---|"]
        for i in report.items:
            lines.append(
                f"| `{i.resource}` | {i.target or '-'} | {i.kind} | {i.action} | {_md('; '.join(i.reasons))} |"
            )
        lines.append("")
        for i in report.items:
            if not i.fields:
                continue
            lines += [
                f"<details><summary><code>{i.resource}</code>: {len(i.fields)} field(s)</summary>",
                "",
                "| field | live | git | owner |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| `{f.path}` | {_md(_value(f.live))} | {_md(_value(f.git))} | {f.owner or ''} |" for f in i.fields
            ]
            lines += ["", "</details>", ""]
    for n in report.not_checked:
        lines.append(f"- not checked: target `{n.target}` ({n.type}): {n.reason}")
    return "\n".join(lines).rstrip() + "\n"


RENDERERS: dict[str, Callable[[DriftReport], str]] = {
    "text": render_text,
    "markdown": render_markdown,
    "json": lambda r: json.dumps(to_json(r), indent=2, sort_keys=True, ensure_ascii=False) + "\n",
}
