"""`modelctl endpoints list|status`: each endpoint's target, URL, traffic split and health.

The endpoints are the repo's (git's split); URL, live split and health come from the target's
facts, read through its target type (`TargetType.endpoint_status`): one read per target type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .consoles import console
from .deploy import ListFormat
from .plan import user_errors
from .target_facts import TargetFactsCache

app = typer.Typer(help="Endpoints: target, URL, traffic split and health.", no_args_is_help=True)


@dataclass
class EndpointRow:
    name: str
    target: str
    target_type: str
    traffic: dict[str, int]  # as git wants it
    url: str | None = None
    live_traffic: dict[str, int] | None = None  # as the target routes it now (None: not routed)
    health: str = "-"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "targetType": self.target_type,
            "traffic": self.traffic,
            "liveTraffic": self.live_traffic,
            "url": self.url,
            "health": self.health,
        }


def _split(traffic: dict[str, int]) -> str:
    return ", ".join(f"{d} {p}%" for d, p in sorted(traffic.items(), key=lambda kv: (-kv[1], kv[0]))) or "-"


def _rows(directory: Path, facts: TargetFactsCache | None = None) -> list[EndpointRow]:
    from ..load import load_repo
    from ..pipeline import load_workspace
    from ..spec.documents import Endpoint

    ws = load_workspace(directory)
    loaded = load_repo(Path(directory))
    rows = []
    for doc in loaded.documents:
        if isinstance(doc.doc, Endpoint):
            spec = doc.doc.spec
            target = ws.spec.targets.get(spec.target)
            rows.append(EndpointRow(doc.name, spec.target, target.type if target else "?", dict(spec.traffic)))
    rows.sort(key=lambda r: r.name)
    _live(rows, facts or TargetFactsCache(ws, loaded.root))
    return rows


def _live(rows: list[EndpointRow], facts: TargetFactsCache) -> None:
    """URL, live split and health of each row from its target's facts."""
    from ..targets import TARGET_TYPES

    for type_name in sorted({r.target_type for r in rows if r.target_type in TARGET_TYPES}):
        target_type = TARGET_TYPES[type_name]
        mine = [r for r in rows if r.target_type == type_name]
        if not (target_type.applies and target_type.routes_endpoints):
            for r in mine:
                r.health = target_type.endpoint_status(None, r.name).health
            continue
        read = facts.of_type(type_name)
        if isinstance(read, Exception):
            for r in mine:
                r.health = f"unknown ({type(read).__name__}: {str(read)[:80]})"
            continue
        for r in mine:
            status = target_type.endpoint_status(read.get(r.target), r.name)
            r.health, r.url = status.health, status.url
            r.live_traffic = dict(status.traffic) if status.url else None


def _colour(health: str) -> str:
    return "green" if health == "healthy" else "red" if health in ("missing", "router down") else "yellow"


@app.command("list")
def list_endpoints(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    target: Optional[str] = typer.Option(None, "--target", help="Only this target (name or type)."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json."),
) -> None:
    """Each endpoint's target, URL, traffic split and health.

    Example: modelctl endpoints list examples/iris
    """
    with user_errors():
        every = _rows(directory)
        rows = [r for r in every if not target or target in (r.target, r.target_type)]
        if target and not rows:
            from ..pipeline import load_workspace
            from .lookup import check_target

            check_target(load_workspace(directory), target)
    if fmt is ListFormat.json:
        console.print_json(json.dumps([r.to_json() for r in rows]))
        return
    if not rows:
        console.print("no endpoints")
        return
    console.print(endpoints_table(rows))


def endpoints_table(rows: list[EndpointRow], title: str | None = None) -> Table:
    table = Table("NAME", "TARGET", "URL", "SPLIT", "HEALTH", box=None, title=title, title_justify="left")
    for r in rows:
        split = _split(r.traffic)
        if r.live_traffic is not None and r.live_traffic != r.traffic:
            split += f" (routed now: {_split(r.live_traffic)})"
        colour = _colour(r.health)
        table.add_row(
            escape(r.name),
            escape(r.target),
            escape(r.url or "-"),
            escape(split),
            f"[{colour}]{escape(r.health)}[/{colour}]",
        )
    return table


@app.command()
def status(
    name: str = typer.Argument(..., help="Endpoint name."),
    directory: Path = typer.Option(Path("."), "--repo", help="The GitOps repo."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json."),
) -> None:
    """One endpoint: target, URL, split (git's and the live one), health of what gets traffic.

    Example: modelctl endpoints status iris --repo examples/iris
    """
    from .lookup import unknown

    with user_errors():
        rows = _rows(directory)
    found = next((r for r in rows if r.name == name), None)
    if found is None:
        raise unknown("endpoint", name, [r.name for r in rows], "the repo")
    if fmt is ListFormat.json:
        console.print_json(json.dumps(found.to_json()))
        return
    table = Table(show_header=False, box=None)
    for key, value in [
        ("name", found.name),
        ("target", f"{found.target} ({found.target_type})"),
        ("url", found.url or "-"),
        ("split", _split(found.traffic)),
        ("routed now", _split(found.live_traffic) if found.live_traffic is not None else "-"),
        ("health", found.health),
    ]:
        table.add_row(f"[bold]{key}[/bold]", escape(value))
    console.print(table)
