"""Where a repo's registry lives: `spec.registry` / `spec.artifacts` of its Workspace document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class WorkspaceError(Exception):
    """The repo has no usable Workspace document."""


@dataclass(frozen=True)
class RegistryLocation:
    url: str
    artifacts: str
    root: Path


def registry_location(repo: Path, registry: str | None = None, artifacts: str | None = None) -> RegistryLocation:
    """Command-line overrides win; otherwise the Workspace's settings (with their defaults)."""
    if registry and artifacts:
        return RegistryLocation(registry, artifacts, repo.absolute())
    from ..diagnostics import DiagnosticError
    from ..pipeline import load_workspace

    try:
        spec = load_workspace(repo).spec
    except DiagnosticError as err:
        problems = "; ".join(f"{d.location}: {d.message}" if d.location else d.message for d in err.diagnostics[:3])
        raise WorkspaceError(f"{problems} (pass --repo DIR, or --registry and --artifacts)") from None
    return RegistryLocation(registry or spec.registry, artifacts or spec.artifacts, repo.absolute())
