"""The `modelctl` command line (typer + rich). Sub-command groups live in sibling modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from .. import __version__
from ..diagnostics import DiagnosticError, errors_only
from .consoles import console, err_console
from .output import Format, print_diagnostics

app = typer.Typer(
    name="modelctl",
    help="A declarative GitOps compiler for machine-learning models.\n\n"
    "Examples:\n\n"
    "  modelctl init my-models\n\n"
    "  modelctl validate examples/iris\n\n"
    "  modelctl validate . --format github\n\n"
    "  modelctl schema Deployment",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"modelctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """A declarative GitOps compiler for machine-learning models."""


@app.command()
def validate(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo to check."),
    fmt: Format = typer.Option(Format.text, "--format", help="text, json, or github (workflow annotations)."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
) -> None:
    """Check every document of a repo: schema, references, files. Exit 0 valid, 1 invalid.

    Example: modelctl validate examples/iris --format github
    """
    from ..pipeline import compile_repo

    compiled = compile_repo(directory, stage=stage)
    print_diagnostics(compiled.diagnostics, fmt, console, str(directory))
    errors = errors_only(compiled.diagnostics)
    if fmt is Format.text:
        if errors:
            files = {d.location.file for d in errors if d.location}
            err_console.print(
                f"[red]✗ {len(errors)} error{'s' * (len(errors) != 1)} in "
                f"{len(files)} file{'s' * (len(files) != 1)}[/red]"
            )
        else:
            counts = _counts(compiled.graph)
            console.print(f"[green]✓[/green] {directory} is valid: {counts}", soft_wrap=True)
    raise typer.Exit(1 if errors else 0)


def _counts(graph) -> str:
    kinds = ["Model", "Environment", "Image", "Deployment", "Endpoint"]
    parts = []
    for kind in kinds:
        n = len([x for x in graph.of_kind(kind) if not getattr(x, "curated", False)])
        parts.append(f"{n} {kind.lower()}{'s' * (n != 1)}")
    return ", ".join(parts)


@app.command()
def schema(
    kind: Optional[str] = typer.Argument(None, help="A kind (Model, Image, …), 'any', or another schema name."),
    write: bool = typer.Option(False, "--write", help="Write every schema into schemas/ (checked in)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder to write into (default: the project's schemas/)."),
) -> None:
    """Print a JSON Schema, or write all of them with --write.

    Example: modelctl schema Deployment
    """
    from .. import schemas

    if write:
        for path in schemas.write_all(out):
            console.print(f"wrote {path}")
        return
    name = (kind or "any").lower()
    available = schemas.generators()
    if name not in available:
        from ..diagnostics import did_you_mean

        hint = did_you_mean(name, available) or "choose one of: " + ", ".join(sorted(available))
        err_console.print(f"[red]error:[/red] unknown schema '{kind}'; {hint}")
        raise typer.Exit(1)
    console.print(schemas.dumps(available[name]()), markup=False, highlight=False, soft_wrap=True, end="")


@app.command()
def init(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="Folder to create the repo in."),
    force: bool = typer.Option(False, "--force", help="Write into a folder that is not empty."),
) -> None:
    """Scaffold a working example GitOps repo.

    Example: modelctl init my-models && modelctl validate my-models
    """
    from ..scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(directory, force=force)
    except ScaffoldError as err:
        err_console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(1) from None
    for path in written:
        console.print(f"created {path}")
    console.print(f"\nNext: modelctl validate {directory}")


def _register_groups() -> None:
    """Commands from sibling modules: each has `register(app)`, or a typer `app` added as a group."""
    import importlib

    for module_name in (
        "models",
        "images",
        "render",
        "plan",
        "deploy",
        "endpoints",
        "destroy",
        "monitor",
        "history",
        "rollback",
        "locks",
        "gitops",
        "devices",
        "ui",
    ):
        try:
            module = importlib.import_module(f"{__package__}.{module_name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__package__}.{module_name}":
                raise
            continue
        if hasattr(module, "register"):
            module.register(app)
        else:
            app.add_typer(module.app, name=module_name)


_register_groups()


def main() -> None:
    """Console entry point: user errors are messages; a bug shows a traceback only with MODELCTL_DEBUG=1."""
    try:
        app()
    except DiagnosticError as err:
        print_diagnostics(err.diagnostics, Format.text, err_console, ".")
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - last line of defence against tracebacks
        if os.environ.get("MODELCTL_DEBUG"):
            raise
        err_console.print(
            f"[red]internal error:[/red] {type(err).__name__}: {err}\n"
            "Run again with MODELCTL_DEBUG=1 for details, and please report it."
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
