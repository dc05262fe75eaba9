"""Showing a plan: Terraform-like text (+ ~ - -/+, colours on a TTY), markdown, or JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.markup import escape

from .document import dumps
from .model import Action, Plan

SYMBOL = {"create": "+", "update": "~", "delete": "-", "no-op": " "}
COLOUR = {"create": "green", "update": "yellow", "delete": "red", "no-op": "dim"}
MAX_VALUE = 72


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def summary_line(plan: Plan) -> str:
    c = plan.counts()
    return f"Plan: {c['add']} to add, {c['change']} to change, {c['destroy']} to destroy."


def render_text(plan: Plan, *, show_no_op: bool = False) -> str:
    """Rich markup; print with a rich Console (it drops the colours when not on a TTY)."""
    lines: list[str] = []
    changes = [a for a in plan.actions if a.is_change or show_no_op]
    if plan.has_changes:
        lines.append(f"modelctl will perform these actions in workspace [bold]{escape(plan.workspace)}[/bold]:")
        lines.append("")
        for a in changes:
            lines += _action_text(a)
        if len(plan.stages) > 1:
            lines.append(
                "[dim]Order: " + " → ".join("{" + ", ".join(s.resources) + "}" for s in plan.stages) + "[/dim]"
            )
            lines.append("")
    if plan.not_applied:
        lines.append("[cyan]Not applied by this version (render only):[/cyan]")
        for n in plan.not_applied:
            lines.append(
                f"  [cyan]·[/cyan] {escape(n.resource)} [dim](target {escape(n.target)})[/dim]: {escape(n.reason)}"
            )
        lines.append("")
    for w in plan.warnings:
        lines.append(f"[yellow]warning:[/yellow] {escape(w)}")
    if plan.has_changes:
        lines.append(f"[bold]{summary_line(plan)}[/bold]")
    else:
        lines.append("[green]No changes.[/green] Live state matches the repo.")
    return "\n".join(lines)


def action_lines(a: Action) -> list[str]:
    """One action as Rich-markup lines: symbol, resource, target, reasons and field diffs."""
    return _action_text(a)


def _action_text(a: Action) -> list[str]:
    colour = COLOUR[a.action]
    where = f" [dim](target {escape(a.target)})[/dim]" if a.target else ""
    out = [f"  [{colour}]{SYMBOL[a.action]:>3}[/{colour}] [bold]{escape(a.resource)}[/bold]{where}"]
    for r in a.reasons:
        out.append(f"        [{colour}]{escape(r)}[/{colour}]")
    for d in a.diffs:
        out.append(f"        [dim]{escape(d.path)}:[/dim] {escape(_value(d.before))} → {escape(_value(d.after))}")
    out.append("")
    return out


def render_markdown(plan: Plan) -> str:
    """For pull-request comments."""
    lines = [f"### modelctl plan — workspace `{plan.workspace}`", ""]
    if plan.has_changes:
        lines += ["| | Resource | Target | Why |", "|---|---|---|---|"]
        for a in plan.changes:
            why = "<br>".join(r.replace("|", "\\|") for r in a.reasons)
            lines.append(f"| `{SYMBOL[a.action]}` {a.action} | `{a.resource}` | {a.target or ''} | {why} |")
        lines.append("")
        details = [a for a in plan.changes if a.diffs]
        if details:
            lines += ["<details><summary>Field changes</summary>", "", "```diff"]
            for a in details:
                lines.append(f"# {a.resource}")
                for d in a.diffs:
                    if d.before is not None:
                        lines.append(f"- {d.path}: {_value(d.before)}")
                    if d.after is not None:
                        lines.append(f"+ {d.path}: {_value(d.after)}")
            lines += ["```", "", "</details>", ""]
    if plan.not_applied:
        lines += ["**Not applied by this version (render only):**", ""]
        lines += [f"- `{n.resource}` (target {n.target}): {n.reason}" for n in plan.not_applied]
        lines.append("")
    lines.append(f"**{summary_line(plan)}**" if plan.has_changes else "**No changes.** Live state matches the repo.")
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return dumps(plan)
    if fmt == "markdown":
        return render_markdown(plan)
    return render_text(plan)
