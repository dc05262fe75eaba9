"""`modelctl ui`: a read-only web dashboard of the workspace (docs/ui.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from .consoles import console, err_console


def ui_command(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on."),
    host: Optional[str] = typer.Option(
        None, "--host", help="Address to bind (default 127.0.0.1). Given explicitly, a random token is required."
    ),
    baseline: Optional[Path] = typer.Option(
        None, "--baseline", help="Baseline for the drift (PSI) charts: CSV with header, JSONL records, or a folder."
    ),
) -> None:
    """Serve a read-only dashboard: graph, registry, deployments, history, monitoring, plans.

    Example: modelctl ui examples/iris --port 8765
    """
    from ..pipeline import load_workspace
    from ..ui.server import CannotListen, ServeOptions, serve

    if not (directory / "modelctl.yaml").is_file():
        err_console.print(f"[red]error:[/red] {escape(str(directory))} has no modelctl.yaml: not a modelctl repo")
        raise typer.Exit(1)
    load_workspace(directory)  # a broken Workspace document is reported now, as every command does
    if baseline is not None and not baseline.exists():
        err_console.print(f"[red]error:[/red] baseline not found: {escape(str(baseline))}")
        raise typer.Exit(1)

    def announce(url: str) -> None:
        console.print(f"modelctl ui: serving {escape(str(directory))} read-only at {url}", soft_wrap=True)
        console.print("(Ctrl-C to stop)")

    try:
        serve(ServeOptions(directory.resolve(), host, port, baseline.resolve() if baseline else None), announce)
    except CannotListen as err:
        err_console.print(f"[red]error:[/red] {escape(str(err))}")
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.command("ui")(ui_command)
