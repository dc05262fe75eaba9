"""A pull-request plan as text, Markdown (a PR comment), GitHub annotations, or JSON."""

from __future__ import annotations

import json
from typing import Any

from .changes import ResourceChange
from .pr_plan import PullRequestPlan

SYMBOL = {"added": "+", "changed": "~", "removed": "-"}


def summary(plan: PullRequestPlan) -> str:
    c = plan.changes
    if c.empty:
        return "No changes: the two revisions compile to the same resources."
    parts = [f"{len(c.of('added'))} to add, {len(c.of('changed'))} to change, {len(c.of('removed'))} to remove"]
    if c.rebuilds():
        parts.append("images to rebuild: " + ", ".join(c.rebuilds()))
    if c.rolls():
        parts.append("deployments to roll: " + ", ".join(c.rolls()))
    return "Plan: " + "; ".join(parts) + "."


def _value(v: Any) -> str:
    return "(none)" if v is None else json.dumps(v, sort_keys=True) if not isinstance(v, str) else v


def _heading(plan: PullRequestPlan) -> str:
    return f"{plan.base.ref} ({plan.base.short}) → {plan.head.ref} ({plan.head.short})"


def render_text(plan: PullRequestPlan, *, artifacts: bool = True) -> str:
    lines = [f"modelctl plan {_heading(plan)}", ""]
    for note in _base_notes(plan):
        lines.append(f"warning: {note}")
    for rc in plan.changes.changes:
        lines.append(f"{SYMBOL[rc.change]} {rc.resource}  ({rc.action}: {'; '.join(rc.reasons)})")
        for d in rc.diffs:
            lines.append(f"    {d.path}: {_value(d.before)} → {_value(d.after)}")
        if artifacts:
            for a in rc.artifacts:
                lines.append(f"    {SYMBOL[a.change]} {a.path}")
    lines += ["", summary(plan)]
    return "\n".join(lines) + "\n"


def render_markdown(plan: PullRequestPlan) -> str:
    c = plan.changes
    out = [f"### modelctl plan: `{plan.base.ref}` ({plan.base.short}) → `{plan.head.ref}` ({plan.head.short})", ""]
    for note in _base_notes(plan):
        out += [f"> **Warning:** {note}", ""]
    out += [f"**{summary(plan)}**", ""]
    if c.empty:
        return "\n".join(out).rstrip() + "\n"
    out += ["| | resource | change | why |", "|---|---|---|---|"]
    for rc in c.changes:
        out.append(f"| `{SYMBOL[rc.change]}` | `{rc.resource}` | {rc.action} | {_cell('; '.join(rc.reasons))} |")
    out.append("")
    for rc in c.changes:
        out += _details(rc)
    return "\n".join(out).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _details(rc: ResourceChange) -> list[str]:
    body = [f"<details><summary><code>{SYMBOL[rc.change]} {rc.resource}</code> — {rc.action}</summary>", ""]
    if rc.file:
        body += [f"Defined in `{rc.file}`.", ""]
    if rc.diffs:
        body += ["| field | before | after |", "|---|---|---|"]
        body += [f"| `{d.path}` | `{_cell(_value(d.before))}` | `{_cell(_value(d.after))}` |" for d in rc.diffs]
        body.append("")
    for a in rc.artifacts:
        fence = "diff" if not a.diff.startswith("binary") else "text"
        body += [f"`{a.path}` ({a.change})", "", f"```{fence}", a.diff.rstrip("\n"), "```", ""]
    body += ["</details>", ""]
    return body


def render_github(plan: PullRequestPlan) -> str:
    """Workflow annotations on the files that define each changed resource, then the text plan."""
    lines = []
    for rc in plan.changes.changes:
        if rc.file is None or rc.change == "removed":
            continue
        path = f"{plan.head.folder}/{rc.file}" if plan.head.folder else rc.file
        msg = f"{rc.resource}: {rc.action} ({'; '.join(rc.reasons)})".replace("%", "%25").replace("\n", "%0A")
        lines.append(f"::notice file={path},line={rc.line},title=modelctl plan::{msg}")
    return "\n".join(lines) + ("\n" if lines else "") + render_text(plan, artifacts=False)


def render_json(plan: PullRequestPlan) -> str:
    doc = {
        "schemaVersion": 1,
        "base": {"ref": plan.base.ref, "commit": plan.base.commit},
        "head": {"ref": plan.head.ref, "commit": plan.head.commit},
        "folder": plan.head.folder,
        "summary": summary(plan),
        "baseProblems": [d.to_json() for d in plan.base_problems],
        "changes": [
            {
                "resource": rc.resource,
                "change": rc.change,
                "action": rc.action,
                "file": rc.file,
                "line": rc.line,
                "reasons": list(rc.reasons),
                "diffs": [{"path": d.path, "before": d.before, "after": d.after} for d in rc.diffs],
                "artifacts": [{"path": a.path, "change": a.change, "diff": a.diff} for a in rc.artifacts],
            }
            for rc in plan.changes.changes
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _base_notes(plan: PullRequestPlan) -> list[str]:
    if not plan.base_problems:
        return []
    return [f"the base revision does not compile ({len(plan.base_problems)} errors); every resource is shown as added"]


RENDERERS = {"text": render_text, "markdown": render_markdown, "github": render_github, "json": render_json}
