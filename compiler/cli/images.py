"""`modelctl images …`: list and show registered images."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ._registry_cli import (
    ArtifactsOpt,
    FormatOpt,
    LimitOpt,
    OffsetOpt,
    OutputFormat,
    RegistryOpt,
    RepoOpt,
    TagOpt,
    console,
    format_tags,
    parse_filters,
    print_json,
    registry_session,
    split_ref,
)
from .lookup import repo_names, unknown

if TYPE_CHECKING:  # the registry (SQLAlchemy) loads only when a command runs
    from ..registry import ImageVersion

app = typer.Typer(help="Images in the workspace registry, by name and version.", no_args_is_help=True)


def _models(image: ImageVersion) -> str:
    return ", ".join(f"{n}:{v}" for n, v in image.models)


@app.command("list")
def list_(
    prefix: Annotated[Optional[str], typer.Option("--prefix", help="Name starts with.")] = None,
    tag: TagOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Only images containing this model.")] = None,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    fmt: FormatOpt = OutputFormat.table,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """List image versions, newest first.  Example: modelctl images list --model iris-classifier"""
    with registry_session(repo, registry, artifacts) as reg:
        images = reg.list_images(prefix, parse_filters(tag), model, limit, offset)
        if model and not images:
            known = set(reg.model_names()) | repo_names(repo, "Model")
            if model not in known:
                raise unknown("model", model, known)
    if fmt is OutputFormat.json:
        print_json([i.to_dict() for i in images])
        return
    table = Table("NAME", "VERSION", "MODELS", "ENVIRONMENT", "IMAGE", "TAGS", "CREATED", box=None)
    for i in images:
        table.add_row(
            escape(i.name),
            str(i.version),
            escape(_models(i)),
            escape(i.environment),
            escape(i.image_ref or "-"),
            escape(format_tags(i.tags)),
            i.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table if images else "no images")


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Image name, optionally NAME@VERSION.")],
    ref: Annotated[Optional[str], typer.Argument(help="Version (default latest).")] = None,
    fmt: FormatOpt = OutputFormat.table,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Show one image version.  Example: modelctl images show iris-scorer 2"""
    name, ref = split_ref(name, ref)
    with registry_session(repo, registry, artifacts) as reg:
        image = reg.get_image(name, ref)
        deployments = [d for d in reg.list_deployments(image=name) if d.image_version == image.version]
    if fmt is OutputFormat.json:
        print_json({**image.to_dict(), "deployments": [d.to_dict() for d in deployments]})
        return
    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    rows = [
        ("name", image.name),
        ("version", str(image.version)),
        ("fingerprint", image.fingerprint),
        ("image", image.image_ref or "-"),
        ("environment", image.environment),
        ("models", _models(image) or "-"),
        ("tags", format_tags(image.tags) or "-"),
        ("created", image.created_at.isoformat()),
        ("deployments", ", ".join(f"{d.name}@{d.target}" for d in deployments) or "-"),
    ]
    for key, value in rows:
        table.add_row(f"[bold]{key}[/bold]", escape(value))
    console.print(table)
