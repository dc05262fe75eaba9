"""Secrets by reference: a name in the spec, the value from the environment or a local file.

`auth.secretRef: iris-keys` resolves, in order, from env MODELCTL_SECRET_IRIS_KEYS or the file
`<repo>/.modelctl/secrets/iris-keys` (mode 0600). For key/token auth a random value is generated
there on first apply. A container gets its own read-only copy, bind-mounted as a file; the value
never appears in a label, an env value, a plan, a log line or a rendered file.
"""

from __future__ import annotations

import os
import secrets as random
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...atomic import atomic_write_text
from ...errors import ApplyError
from .secret_refs import secret_digest, secret_refs

SECRETS_DIR = Path(".modelctl/secrets")
RUN_DIR = Path(".modelctl/run")
MOUNT_DIR = "/run/secrets/modelctl"


def env_name(name: str) -> str:
    return "MODELCTL_SECRET_" + name.upper().replace("-", "_")


@dataclass(frozen=True)
class Resolved:
    value: str
    note: str | None = None  # said once, when a value was generated


def _path(root: Path, name: str, key: str | None) -> Path:
    """The secret's file, never outside `.modelctl/secrets/` (validate refuses such names already;
    this holds whatever reaches it)."""
    folder = (Path(root) / SECRETS_DIR).resolve()
    for part in (name, key):
        if part is not None and (part in ("", ".", "..") or "/" in part or "\\" in part or "\0" in part):
            raise ApplyError(
                f"secret {name!r}{f' key {key!r}' if key else ''}: a secret name and key are plain names, never paths"
            )
    path = folder / name / key if key else folder / name
    if not path.resolve().is_relative_to(folder):
        raise ApplyError(f"secret {name!r}: {path} resolves outside {folder} (a symlink?); refusing to read it")
    return path


def lookup(root: Path, name: str, key: str | None = None) -> str | None:
    """The value of secret `name` (or `name/key`), or None when it is not set. Never creates one."""
    if key is None and os.environ.get(env_name(name)):
        return os.environ[env_name(name)]
    path = _path(root, name, key)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def current_digests(root: Path, workspace: str, refs: Iterable[str]) -> dict[str, str | None]:
    """Digests of the current values of secrets (None: not set). The plan compares them with what
    each container recorded at start, so a rotated value plans a roll-out. Values stay here."""
    digests: dict[str, str | None] = {}
    for ref in sorted(set(refs)):
        name, _, key = ref.partition("/")
        value = lookup(Path(root), name, key or None)
        digests[ref] = None if value is None else secret_digest(workspace, ref, value)
    return digests


@dataclass(frozen=True)
class DeploymentSecrets:
    """Every secret one deployment's containers read, resolved once per deploy."""

    values: dict[str, str]  # id (`name` or `name/key`) → value: mounted into the containers
    digests: dict[str, str]  # id → digest: recorded in their labels
    notes: list[str]  # where a key was generated, to tell the user


def resolve_all(req: Any) -> DeploymentSecrets:
    """Resolve every secret a deployment reads, creating a missing key/token auth secret."""
    values, digests, notes = {}, {}, []
    for ref in secret_refs(req.name, req.spec):
        name, _, key = ref.partition("/")
        got = resolve(req.root, name, key=key or None, generate=not key)
        values[ref], digests[ref] = got.value, secret_digest(req.workspace, ref, got.value)
        if got.note:
            notes.append(got.note)
    return DeploymentSecrets(values, digests, notes)


def resolve(root: Path, name: str, *, key: str | None = None, generate: bool = False) -> Resolved:
    """The value of secret `name` (or of `name/key` for a folder secret)."""
    found = lookup(root, name, key)
    if found is not None:
        return Resolved(found)
    path = _path(root, name, key)
    if not generate or key is not None:
        where = f"{path}" if key else f"env {env_name(name)} or the file {path}"
        raise ApplyError(f"secret '{name}'{f' key {key!r}' if key else ''} not found: set {where} (mode 0600)")
    # Deployments sharing a secret are applied in parallel (threads, or another process): the first
    # to create the file wins, the others read its value — never two different keys.
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{random.token_hex(4)}")
    atomic_write_text(candidate, random.token_urlsafe(32) + "\n")
    os.chmod(candidate, 0o600)
    try:
        os.link(candidate, path)  # atomic, fails when the file exists
        created = True
    except FileExistsError:
        created = False
    finally:
        candidate.unlink(missing_ok=True)
    value = path.read_text(encoding="utf-8")
    if not created:
        return Resolved(value)
    return Resolved(
        value,
        f"generated a random key for secret '{name}' in {path} (callers send it as 'Authorization: Bearer <key>')",
    )


class ContainerSecrets:
    """Per-container read-only copies under .modelctl/run/<container>/ (folder 0700, files 0444)."""

    def __init__(self, root: Path, container: str) -> None:
        self.folder = Path(root).resolve() / RUN_DIR / container
        self.mounts: list[tuple[str, str]] = []  # (host path, container path)

    def add(self, filename: str, value: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        host = self.folder / filename
        host.unlink(missing_ok=True)
        atomic_write_text(host, value)
        os.chmod(host, 0o444)  # readable by the container's non-root user; the folder keeps others out
        inside = f"{MOUNT_DIR}/{filename}"
        self.mounts.append((str(host), inside))
        return inside


def remove_copies(root: Path, container: str) -> None:
    shutil.rmtree(Path(root).resolve() / RUN_DIR / container, ignore_errors=True)
