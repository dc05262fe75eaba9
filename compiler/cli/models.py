"""`modelctl models …`: list, show, register, tag, untag, alias, archive, delete.

(No module-level `register` here: main.py calls `register(app)` on modules that have one.)
"""

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
    parse_assignments,
    parse_filters,
    print_json,
    registry_session,
    split_ref,
)
from .lookup import unknown

if TYPE_CHECKING:  # the registry (SQLAlchemy) loads only when a command runs
    from ..registry import ModelVersion

app = typer.Typer(help="Models in the workspace registry, by name and version.", no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="Model name, optionally NAME@REF (iris@3, iris@tag:stable).")]
VersionArg = Annotated[str, typer.Argument(help="Version number, 'latest', or an alias (tag:stable).")]


def _print_models(models: list[ModelVersion], fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        print_json([m.to_dict() for m in models])
        return
    table = Table("NAME", "VERSION", "FRAMEWORK", "DIGEST", "ALIASES", "TAGS", "CREATED", box=None)
    for m in models:
        version = f"{m.version} (archived)" if m.archived else str(m.version)
        table.add_row(
            escape(m.name),
            version,
            m.framework,
            m.digest[7:19],
            escape(", ".join(m.aliases)),
            escape(format_tags(m.tags)),
            m.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table if models else "no models")


def _show(model: ModelVersion, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        print_json(model.to_dict())
        return
    rows = [
        ("name", model.name),
        ("version", str(model.version)),
        ("framework", model.framework),
        ("digest", model.digest),
        ("kind", model.kind),
        ("entry", model.entry or "-"),
        ("size", f"{model.size:,} bytes"),
        ("archived", "yes" if model.archived else "no"),
        ("aliases", ", ".join(model.aliases) or "-"),
        ("tags", format_tags(model.tags) or "-"),
        ("created", model.created_at.isoformat()),
        ("description", model.description or "-"),
    ]
    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(f"[bold]{key}[/bold]", escape(value))
    if model.signature:
        for side in ("inputs", "outputs"):
            for spec in model.signature.get(side, []):
                table.add_row(
                    f"[bold]{side[:-1]}[/bold]", escape(f"{spec.get('name') or '-'}: {spec['dtype']} {spec['shape']}")
                )
    console.print(table)


@app.command("list")
def list_(
    prefix: Annotated[Optional[str], typer.Option("--prefix", help="Name starts with.")] = None,
    tag: TagOpt = None,
    framework: Annotated[Optional[str], typer.Option("--framework", help="sklearn, onnx, mlflow, custom.")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived versions.")] = False,
    limit: LimitOpt = 50,
    offset: OffsetOpt = 0,
    fmt: FormatOpt = OutputFormat.table,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """List model versions, newest first.  Example: modelctl models list --tag team=fraud --format json"""
    from ..registry.names import FRAMEWORKS

    if framework is not None and framework not in FRAMEWORKS:
        raise unknown("framework", framework, FRAMEWORKS, None)
    with registry_session(repo, registry, artifacts) as reg:
        models = reg.list_models(prefix, parse_filters(tag), framework, archived, limit, offset)
    _print_models(models, fmt)


@app.command()
def show(
    name: NameArg,
    ref: Annotated[Optional[str], typer.Argument(help="Version or alias (default latest).")] = None,
    fmt: FormatOpt = OutputFormat.table,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Show one model version.  Example: modelctl models show iris-classifier@tag:stable"""
    name, ref = split_ref(name, ref)
    with registry_session(repo, registry, artifacts) as reg:
        model = reg.get_model(name, ref)
    _show(model, fmt)


@app.command("register")
def register_model(
    path: Annotated[Path, typer.Argument(help="Model file or folder.")],
    name: Annotated[str, typer.Option("--name", help="Model name.")],
    framework: Annotated[str, typer.Option("--framework", help="sklearn, onnx, mlflow or custom.")],
    tag: Annotated[Optional[list[str]], typer.Option("--tag", help="k=v; repeatable.")] = None,
    description: Annotated[Optional[str], typer.Option("--description")] = None,
    fmt: FormatOpt = OutputFormat.table,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Register a model by hand (no-op when it equals the latest version).

    Example: modelctl models register artifacts/iris.joblib --name iris-classifier --framework sklearn
    """
    tags = parse_assignments(tag or [])
    with registry_session(repo, registry, artifacts) as reg:
        model, created = reg.register_model(name, path, framework=framework, tags=tags, description=description)
    if fmt is OutputFormat.json:
        print_json({"created": created, "model": model.to_dict()})
    else:
        verb = "registered" if created else "unchanged: same content as"
        console.print(f"{verb} {escape(model.ref)} ({model.digest})")


@app.command()
def tag(
    name: str,
    version: VersionArg,
    tags: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs.")],
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Set tags on a model version.  Example: modelctl models tag iris 3 stage=prod"""
    values = parse_assignments(tags)
    with registry_session(repo, registry, artifacts) as reg:
        model = reg.tag(name, version, values)
    console.print(f"{escape(model.ref)}: {escape(format_tags(model.tags))}")


@app.command()
def untag(
    name: str,
    version: VersionArg,
    keys: Annotated[list[str], typer.Argument(help="Tag keys.")],
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Remove tags from a model version.  Example: modelctl models untag iris 3 stage"""
    with registry_session(repo, registry, artifacts) as reg:
        model = reg.untag(name, version, keys)
    console.print(f"{escape(model.ref)}: {escape(format_tags(model.tags)) or 'no tags'}")


@app.command()
def alias(
    name: str,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
    version: Annotated[Optional[str], typer.Argument(help="Version to point at.")] = None,
    remove: Annotated[bool, typer.Option("--remove", help="Remove the alias.")] = False,
    history: Annotated[bool, typer.Option("--history", help="Show where the alias pointed, and when.")] = False,
    fmt: FormatOpt = OutputFormat.table,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Move, remove or show the history of an alias.  Example: modelctl models alias iris stable 3"""
    with registry_session(repo, registry, artifacts) as reg:
        if history:
            events = reg.alias_history(name, alias_name)
            if fmt is OutputFormat.json:
                print_json([e.to_dict() for e in events])
            else:
                for e in events:
                    console.print(f"{e.at.isoformat()}  {'removed' if e.version is None else e.version}")
            return
        if remove:
            reg.remove_alias(name, alias_name)
            console.print(f"removed alias {escape(alias_name)} of {escape(name)}")
            return
        if version is None:
            raise typer.BadParameter("give a VERSION, --remove or --history")
        model = reg.set_alias(name, alias_name, version)
    console.print(f"{escape(name)}@{escape(alias_name.removeprefix('tag:'))} → {model.version}")


@app.command()
def archive(
    name: str,
    version: VersionArg,
    undo: Annotated[bool, typer.Option("--undo", help="Unarchive.")] = False,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Hide a version from @latest and listings without deleting it.  Example: modelctl models archive iris 2"""
    with registry_session(repo, registry, artifacts) as reg:
        model = reg.unarchive(name, version) if undo else reg.archive(name, version)
    console.print(f"{'unarchived' if undo else 'archived'} {escape(model.ref)}")


@app.command()
def delete(
    name: str,
    version: Annotated[Optional[str], typer.Argument(help="Version; all versions when omitted.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    repo: RepoOpt = Path("."),
    registry: RegistryOpt = None,
    artifacts: ArtifactsOpt = None,
) -> None:
    """Delete a model version (refused while an image uses it).  Example: modelctl models delete iris 2 --yes"""
    what = f"{name}:{version}" if version else f"every version of {name}"
    if not yes and not typer.confirm(f"delete {what}?"):
        raise typer.Exit(1)
    with registry_session(repo, registry, artifacts) as reg:
        deleted = reg.delete_model(name, version)
    console.print(f"deleted {escape(name)} version{'s' * (len(deleted) != 1)} {', '.join(map(str, deleted))}")
