"""Shared pieces of `modelctl models` and `modelctl images`: options, errors, output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.markup import escape

from ._workspace import WorkspaceError, registry_location

if TYPE_CHECKING:  # the registry (SQLAlchemy) loads only when a command runs
    from ..registry import Registry

from .consoles import console as console  # re-exported: models.py and images.py print through it
from .consoles import err_console


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


RepoOpt = Annotated[Path, typer.Option("--repo", help="The GitOps repo whose modelctl.yaml names the registry.")]
RegistryOpt = Annotated[
    Optional[str], typer.Option("--registry", help="Registry database URL (overrides the workspace).")
]
ArtifactsOpt = Annotated[
    Optional[str], typer.Option("--artifacts", help="Artifact store URL (overrides the workspace).")
]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", help="table (for people) or json (stable, for scripts).")]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", help="k=v (equality) or k (exists); repeatable.")]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, max=1000, help="Page size.")]
OffsetOpt = Annotated[int, typer.Option("--offset", min=0, help="Skip this many (newest first).")]


def fail(message: str) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return typer.Exit(1)


@contextmanager
def registry_session(repo: Path, registry: str | None, artifacts: str | None) -> Iterator[Registry]:
    """Open the repo's registry; registry and workspace errors become a red message and exit 1."""
    from ..registry import RegistryError, open_registry

    try:
        where = registry_location(repo, registry, artifacts)
        with open_registry(where.url, where.artifacts, where.root) as reg:
            yield reg
    except (RegistryError, WorkspaceError) as err:
        raise fail(str(err)) from None


def parse_filters(tags: list[str] | None) -> dict[str, str | None]:
    """--tag k=v → {k: v}; --tag k → {k: None} (the tag exists)."""
    out: dict[str, str | None] = {}
    for item in tags or []:
        key, sep, value = item.partition("=")
        out[key] = value if sep else None
    return out


def parse_assignments(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise fail(f"expected KEY=VALUE, got {item!r}")
        out[key] = value
    return out


def split_ref(name: str, ref: str | None) -> tuple[str, str]:
    """`iris@3` / `iris@tag:stable` or NAME plus a separate REF (default: latest)."""
    if "@" in name:
        name, _, at = name.partition("@")
        ref = ref or at
    return name, ref or "latest"


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))


def format_tags(tags: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))
