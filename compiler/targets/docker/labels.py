"""Labels on everything modelctl creates on a Docker engine: how live state is read back."""

from __future__ import annotations

from collections.abc import Mapping

MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY = "modelctl"
WORKSPACE = "modelctl.io/workspace"
RESOURCE = "modelctl.io/resource"
FINGERPRINT = "modelctl.io/fingerprint"
TARGET = "modelctl.io/target"
ROLE = "modelctl.io/role"  # "backend" | "router" | "routes" | "collected-data"
IMAGE_REF = "modelctl.io/image-ref"
IMAGE = "modelctl.io/image"
SPEC = "modelctl.io/spec"  # the deployment spec as compact JSON (secret names only, never values)
PREVENT_DESTROY = "modelctl.io/prevent-destroy"
BACKEND_PORT = "modelctl.io/backend-port"
ROLLBACK = "modelctl.io/rollback"  # set by `modelctl rollback`: the RollbackMark as JSON
SECRETS = "modelctl.io/secrets"  # secret id → digest of the value the container started with (JSON)


def managed_filter(workspace: str, **extra: str) -> dict:
    """A docker `filters` dict selecting this workspace's objects (never anything else)."""
    labels = [f"{MANAGED_BY_KEY}={MANAGED_BY}", f"{WORKSPACE}={workspace}"]
    labels += [f"{k}={v}" for k, v in extra.items()]
    return {"label": labels}


def owned_by(labels: Mapping[str, str] | None, workspace: str, **expected: str) -> bool:
    """Whether an object's labels say it is this workspace's (and carries every `expected` label): the
    check before modelctl reads, changes or deletes an object it found by name."""
    labels = labels or {}
    return (
        labels.get(MANAGED_BY_KEY) == MANAGED_BY
        and labels.get(WORKSPACE) == workspace
        and all(labels.get(k) == v for k, v in expected.items())
    )


def describe(labels: Mapping[str, str] | None) -> str:
    """An object's owner as its labels tell it, for an error message."""
    labels = labels or {}
    if labels.get(MANAGED_BY_KEY) != MANAGED_BY:
        return "not managed by modelctl"
    return ", ".join(f"{k.rsplit('/', 1)[1]} {labels.get(k, '-')!r}" for k in (WORKSPACE, TARGET, ROLE))
