"""`modelctl render`: write every target's artifacts for a repo into a folder, atomically."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def render(
    directory: Path = typer.Argument(Path("."), metavar="[DIR]", help="The GitOps repo to render."),
    out: Path = typer.Option(..., "--out", help="Folder to write (replaced as a whole when everything rendered)."),
    stage: Optional[str] = typer.Option(None, "--stage", help="Apply the overlay in stages/STAGE first."),
    only: Optional[List[str]] = typer.Option(
        None, "--only", metavar="KIND/NAME", help="Render only this resource (and what it needs); repeatable."
    ),
) -> None:
    """Render Dockerfiles and build contexts, Kubernetes manifests, edge bundles and FPGA configs.

    Example: modelctl render examples/iris --out build/iris --stage prod
    """
    from ..pipeline import compile_repo
    from ..render import render_graph
    from ..targets import TARGET_TYPES
    from .main import console, err_console
    from .output import Format, print_diagnostics

    compiled = compile_repo(directory, stage=stage)
    if not compiled.ok:
        print_diagnostics(compiled.diagnostics, Format.text, err_console, str(directory))
        raise typer.Exit(1)
    result = render_graph(compiled.require(), out, types=TARGET_TYPES, only=set(only) if only else None)
    nodes = {f.node for f in result.files}
    console.print(
        f"[green]✓[/green] rendered {len(result.files)} files for {len(nodes)} resources into {out}"
        + (f" ({result.kubernetes_objects} Kubernetes objects)" if result.kubernetes_objects else ""),
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("render")(render)
