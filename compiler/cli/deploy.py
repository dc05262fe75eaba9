"""`modelctl deployments list|status|logs`: what runs where, from the registry and the targets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .plan import console, err_console, user_errors
from .target_facts import TargetFactsCache

if TYPE_CHECKING:
    from .endpoints import EndpointRow

app = typer.Typer(help="Deployments: image, models, target, URL and health.", no_args_is_help=True)


class ListFormat(str, Enum):
    table = "table"
    json = "json"


@dataclass(frozen=True)
class EndpointRef:
    """An endpoint routing to a deployment: git's weight, and the one routed now (None: not routed)."""

    name: str
    weight: int
    routed_weight: int | None
    url: str | None

    def to_json(self) -> dict:
        return {"name": self.name, "weight": self.weight, "routedWeight": self.routed_weight, "url": self.url}

    def text(self) -> str:
        now = f" (routed now {self.routed_weight}%)" if self.routed_weight not in (None, self.weight) else ""
        return f"{self.name} {self.weight}%{now}"


@dataclass
class Row:
    name: str
    target: str
    target_type: str
    image: str
    image_version: int | None
    models: list[str]
    url: str | None
    health: str
    container: str | None = None
    fingerprint: str | None = None
    containers: list[str] = field(default_factory=list)  # every replica behind the router, in order
    extra: dict = field(default_factory=dict)
    conditions: list[str] = field(default_factory=list)  # the target's own, e.g. a Deployment's Available
    endpoints: list[EndpointRef] = field(default_factory=list)  # the endpoints routing to it

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "target": self.target,
            "targetType": self.target_type,
            "image": self.image,
            "imageVersion": self.image_version,
            "models": self.models,
            "url": self.url,
            "health": self.health,
            "conditions": self.conditions,
            "container": self.container,
            "containers": self.containers,
            "fingerprint": self.fingerprint,
            "endpoints": [e.to_json() for e in self.endpoints],
        }


def _split(ref: str | None) -> tuple[str | None, int | None]:
    if not ref:
        return None, None
    name, _, version = ref.partition("@")
    if version and not version.isdigit():
        raise typer.BadParameter(f"{ref}: use NAME or NAME@VERSION (a number)")
    return name, int(version) if version else None


def _rows(directory: Path, facts: TargetFactsCache | None = None) -> list[Row]:
    from ..pipeline import load_workspace
    from ..registry import NotFound, open_registry_if_present

    ws = load_workspace(directory)
    root = Path(directory).resolve()
    facts = facts or TargetFactsCache(ws, root)
    registry = open_registry_if_present(ws.spec.registry, ws.spec.artifacts, root)
    if registry is None:
        return []
    rows: list[Row] = []
    with registry:
        for d in registry.list_deployments():
            target = ws.spec.targets.get(d.target)
            try:
                image = registry.get_image(d.image, d.image_version)
                models = [f"{m}@{v}" for m, v in image.models]
            except NotFound:
                models = []
            rows.append(
                Row(
                    d.name,
                    d.target,
                    target.type if target else "?",
                    d.image,
                    d.image_version,
                    models,
                    d.url,
                    "-",
                    fingerprint=d.fingerprint,
                )
            )
    _health(rows, facts)
    return rows


def _health(rows: list[Row], facts: TargetFactsCache) -> None:
    """Each row's health from its target's facts: one read per target type with deployments listed."""
    from ..targets import TARGET_TYPES
    from ..targets.docker.engine import EngineUnreachable

    for type_name in sorted({r.target_type for r in rows if r.target_type in TARGET_TYPES}):
        target_type = TARGET_TYPES[type_name]
        if not target_type.applies:
            continue
        mine = [r for r in rows if r.target_type == type_name]
        read = facts.of_type(type_name)
        if isinstance(read, Exception):
            why = "engine unreachable" if isinstance(read, EngineUnreachable) else type(read).__name__
            for r in mine:
                r.health = f"unknown ({why})"
            continue
        for r in mine:
            status = target_type.status(read.get(r.target), r.name)
            r.health = status.health
            r.conditions = list(status.conditions)
            if status.containers:
                r.container, r.containers = status.containers[0], list(status.containers)


def _with_endpoints(rows: list[Row], endpoints: list[EndpointRow]) -> None:
    """Each deployment's endpoints: those on its target whose split names it, with git's weight and
    the weight the target routes now (None: the endpoint is not routed)."""
    for r in rows:
        for e in endpoints:
            if e.target == r.target and r.name in e.traffic:
                live = e.live_traffic.get(r.name, 0) if e.live_traffic is not None else None
                r.endpoints.append(EndpointRef(e.name, e.traffic[r.name], live, e.url))


def _filter(rows: list[Row], model: str | None, image: str | None, target: str | None) -> list[Row]:
    m_name, m_version = _split(model)
    i_name, i_version = _split(image)
    out = []
    for r in rows:
        if target and target not in (r.target, r.target_type):
            continue
        if i_name and (r.image != i_name or (i_version is not None and r.image_version != i_version)):
            continue
        if m_name and not any(
            x.split("@")[0] == m_name and (m_version is None or x == f"{m_name}@{m_version}") for x in r.models
        ):
            continue
        out.append(r)
    return out


def _check_filters(directory: Path, model: str | None, image: str | None, target: str | None, rows: list[Row]) -> None:
    """An empty listing is an answer only for names that exist: an unknown one is an error with a hint."""
    from .lookup import check_target, known_names, unknown

    ws, names = known_names(directory)
    for what, kind, ref in (("model", "Model", model), ("image", "Image", image)):
        name = _split(ref)[0]
        if name and name not in names[kind]:
            raise unknown(what, name, names[kind])
    if target:
        check_target(ws, target, (r.target for r in rows))


@app.command("list")
def list_deployments(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    model: Optional[str] = typer.Option(None, "--model", help="Only deployments serving this model (NAME[@V])."),
    image: Optional[str] = typer.Option(None, "--image", help="Only deployments of this image (NAME[@V])."),
    target: Optional[str] = typer.Option(None, "--target", help="Only this target (name or type)."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json."),
) -> None:
    """Each deployment's image, models, target, URL, health and the endpoints routing to it (with their
    weight); the endpoints' own table follows.

    Example: modelctl deployments list examples/iris --model iris-classifier@2
    """
    from .endpoints import _rows as endpoint_rows
    from .endpoints import endpoints_table
    from .lookup import repo_names

    with user_errors():
        facts = _facts_cache(directory)  # one read per target type: health and endpoints
        every = _rows(directory, facts)
        rows = _filter(every, model, image, target)
        if not rows and (model or image or target):
            _check_filters(directory, model, image, target, every)
        endpoints = endpoint_rows(directory, facts) if rows else []
        _with_endpoints(rows, endpoints)
    if fmt is ListFormat.json:
        console.print_json(json.dumps([r.to_json() for r in rows]))
        return
    if not rows:
        declared = set() if (model or image or target) else repo_names(directory, "Deployment")
        console.print(
            f"no deployments applied yet: the repo declares {', '.join(sorted(declared))} (modelctl apply deploys them)"
            if declared
            else "no deployments"
        )
        return
    table = Table("NAME", "TARGET", "IMAGE", "MODELS", "URL", "ENDPOINTS", "HEALTH", box=None)
    for r in rows:
        colour = "green" if r.health == "healthy" else "yellow" if r.health in ("starting", "running") else "red"
        table.add_row(
            escape(r.name),
            escape(r.target),
            escape(f"{r.image}:{r.image_version}"),
            escape(", ".join(r.models)),
            escape(r.url or "-"),
            escape(", ".join(e.text() for e in r.endpoints) or "-"),
            f"[{colour}]{escape(r.health)}[/{colour}]",
        )
    console.print(table)
    shown = {e.name for r in rows for e in r.endpoints}
    if shown:
        console.print()
        console.print(endpoints_table([e for e in endpoints if e.name in shown], title="Endpoints"))


def _facts_cache(directory: Path) -> TargetFactsCache:
    from ..pipeline import load_workspace

    return TargetFactsCache(load_workspace(directory), Path(directory).resolve())


def _one(directory: Path, name: str) -> Row:
    rows = [r for r in _rows(directory) if r.name == name]
    if not rows:
        from ..diagnostics import did_you_mean

        known = [r.name for r in _rows(directory)]
        hint = did_you_mean(name, known) or ("deployed: " + ", ".join(known) if known else "nothing is deployed")
        err_console.print(f"[red]error:[/red] no deployment named {escape(name)!s}; {escape(hint)}")
        raise typer.Exit(1)
    return rows[0]


def _trust(directory: Path, name: str) -> Any:
    """What the readiness check verifies HTTPS against: the CA of the deployment's tls secret when
    its files are here (docs/tls.md), else the system's trust store."""
    from ..pipeline import compile_repo
    from ..tls import read_tls_secret, trust_context

    compiled = compile_repo(directory)
    node = compiled.graph.nodes.get(f"Deployment/{name}") if compiled.graph else None
    tls = getattr(getattr(node, "spec", None), "tls", None)
    files = read_tls_secret(compiled.root, tls.secret_ref) if tls else None
    return trust_context(files) if files else True


@app.command()
def status(
    name: str = typer.Argument(..., help="Deployment name."),
    directory: Path = typer.Option(Path("."), "--repo", help="The GitOps repo."),
) -> None:
    """Details of one deployment, with a live readiness check of its URL.

    Example: modelctl deployments status iris-local --repo examples/iris
    """
    import httpx

    with user_errors():
        row = _one(directory, name)
    from ..targets import TARGET_TYPES

    ready = "-"
    known = TARGET_TYPES.get(row.target_type)
    answers = known is None or known.serves_http  # a kubernetes Service URL answers inside its cluster only
    if answers and row.url and row.url.startswith(("http://", "https://")):  # a published location is no service
        try:
            resp = httpx.get(row.url + "/v2/health/ready", timeout=3, verify=_trust(directory, name))
            ready = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            if "CERTIFICATE_REQUIRED" in str(exc).upper():  # mtls: a trusted server that asks for a certificate
                ready = "TLS ok, client certificate required (mtls)"
            else:
                ready = f"no answer ({type(exc).__name__})"
    table = Table(show_header=False, box=None)
    for key, value in [
        ("name", row.name),
        ("target", f"{row.target} ({row.target_type})"),
        ("image", f"{row.image}:{row.image_version}"),
        ("models", ", ".join(row.models) or "-"),
        ("url", row.url or "-"),
        ("health", row.health),
        *([("conditions", ", ".join(row.conditions))] if row.conditions else []),
        ("ready", ready),
        ("containers" if len(row.containers) > 1 else "container", ", ".join(row.containers) or row.container or "-"),
        ("fingerprint", row.fingerprint or "-"),
    ]:
        table.add_row(f"[bold]{key}[/bold]", escape(value))
    console.print(table)


@app.command()
def logs(
    name: str = typer.Argument(..., help="Deployment name."),
    directory: Path = typer.Option(Path("."), "--repo", help="The GitOps repo."),
    tail: int = typer.Option(100, "--tail", help="Lines from the end."),
    replica: int = typer.Option(1, "--replica", min=1, help="Which replica (1 = the first)."),
) -> None:
    """The last log lines of a container serving a docker deployment.

    Example: modelctl deployments logs iris-local --repo examples/iris --tail 20 --replica 2
    """
    from ..pipeline import load_workspace
    from ..targets.docker.containers import backend_named
    from ..targets.docker.engine import Engines, docker_settings

    with user_errors():
        row = _one(directory, name)
        if not row.container:
            err_console.print(
                f"[red]error:[/red] {escape(name)} has no running docker container "
                f"(target {escape(row.target)}, health {escape(row.health)})"
            )
            raise typer.Exit(1)
        names = row.containers or [row.container]
        if replica > len(names):
            err_console.print(
                f"[red]error:[/red] {escape(name)} has {len(names)} replica{'s' * (len(names) != 1)}; "
                f"--replica {replica} does not exist"
            )
            raise typer.Exit(1)
        workspace = load_workspace(directory)
        target = docker_settings(workspace.spec.targets[row.target])
        engines = Engines()
        try:
            container = backend_named(
                engines.get(target.host), workspace.metadata.name, row.target, name, names[replica - 1]
            )
            if container is None:  # found by its labels only: never another workspace's container by name
                err_console.print(
                    f"[red]error:[/red] the container {escape(names[replica - 1])} of {escape(name)} is gone"
                )
                raise typer.Exit(1)
            text = container.logs(tail=tail).decode(errors="replace")
        finally:
            engines.close()
    console.print(text.rstrip(), markup=False, highlight=False, soft_wrap=True)


def register(root_app: typer.Typer) -> None:
    root_app.add_typer(app, name="deployments")
