"""Printing diagnostics as text (rich), JSON, or GitHub workflow annotations."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import orjson
from rich.console import Console
from rich.markup import escape

from ..diagnostics import Diagnostic, Location


class Format(str, Enum):
    text = "text"
    json = "json"
    github = "github"


def shown_location(loc: Location | None, shown_root: str) -> Location | None:
    """Locations are repo-relative; show them under the folder the user named."""
    if loc is None:
        return None
    if shown_root in ("", ".") or Path(loc.file).is_absolute():
        return loc
    return Location(f"{shown_root.rstrip('/')}/{loc.file}", loc.line, loc.col)


def print_diagnostics(diags: list[Diagnostic], fmt: Format, console: Console, shown_root: str) -> None:
    shown = [
        Diagnostic(
            d.message, shown_location(d.location, shown_root), d.path, d.expected, d.suggestion, d.code, d.severity
        )
        for d in diags
    ]
    if fmt is Format.json:
        # Straight to the stream: rich's print_json highlights and wraps every token (13 s and most of
        # 800 MB for 20,000 diagnostics); orjson writes the same indented JSON in milliseconds.
        out = console.file
        out.write(orjson.dumps({"diagnostics": [d.to_json() for d in shown]}, option=orjson.OPT_INDENT_2).decode())
        out.write("\n")
        out.flush()
    elif fmt is Format.github:
        for d in shown:
            console.print(_github(d), markup=False, highlight=False, soft_wrap=True)
    else:
        for d in shown:
            colour = "red" if d.severity == "error" else "yellow"
            where = f"{d.location}: " if d.location else ""
            at = f" [dim](at {escape(d.path)})[/dim]" if d.path else ""
            console.print(
                f"[bold]{escape(where)}[/bold][{colour}]{d.severity}[/{colour}]: {escape(d.message)}{at}",
                soft_wrap=True,
            )
            if d.expected:
                console.print(f"    expected: {escape(d.expected)}", soft_wrap=True)
            if d.suggestion:
                console.print(f"    hint: {escape(d.suggestion)}", soft_wrap=True)


def _github(d: Diagnostic) -> str:
    level = "error" if d.severity == "error" else "warning"
    props = []
    if d.location:
        props.append(f"file={d.location.file}")
        if d.location.line:
            props += [f"line={d.location.line}", f"col={d.location.col}"]
    props.append(f"title=modelctl {d.code}")
    text = d.message + (f" (at {d.path})" if d.path else "")
    if d.expected:
        text += f"; expected {d.expected}"
    if d.suggestion:
        text += f"; {d.suggestion}"
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level} {','.join(props)}::{text}"
