"""Where a repo's registry lives: `spec.registry` / `spec.artifacts` of its Workspace document.

A stop-gap reader (ruamel, modelctl.yaml only) until `compiler.load` offers `load_workspace`;
swap `registry_location` to use it then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML, YAMLError

DEFAULT_REGISTRY = "sqlite:///.modelctl/registry.db"
DEFAULT_ARTIFACTS = "file://.modelctl/artifacts"
WORKSPACE_FILES = ("modelctl.yaml", "modelctl.yml")


class WorkspaceError(Exception):
    """The repo has no usable Workspace document."""


@dataclass(frozen=True)
class RegistryLocation:
    url: str
    artifacts: str
    root: Path


def _workspace_spec(repo: Path) -> dict:
    for name in WORKSPACE_FILES:
        path = repo / name
        if not path.is_file():
            continue
        try:
            docs = list(YAML(typ="safe").load_all(path.read_text(encoding="utf-8")))
        except (YAMLError, UnicodeDecodeError) as exc:
            raise WorkspaceError(f"cannot read {path}: {exc}") from None
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "Workspace":
                spec = doc.get("spec") or {}
                if not isinstance(spec, dict):
                    raise WorkspaceError(f"{path}: the Workspace spec must be a mapping")
                return spec
        raise WorkspaceError(f"{path} has no 'kind: Workspace' document")
    raise WorkspaceError(f"no modelctl.yaml in {repo} (pass --repo DIR, or --registry URL)")


def registry_location(repo: Path, registry: str | None = None, artifacts: str | None = None) -> RegistryLocation:
    """Command-line overrides win; otherwise the Workspace's settings, else the defaults."""
    spec = {} if registry and artifacts else _workspace_spec(repo)
    url = registry or spec.get("registry") or DEFAULT_REGISTRY
    store = artifacts or spec.get("artifacts") or DEFAULT_ARTIFACTS
    if not isinstance(url, str) or not isinstance(store, str):
        raise WorkspaceError("spec.registry and spec.artifacts must be strings (URLs)")
    return RegistryLocation(url, store, repo.absolute())
