"""Labels on everything modelctl creates on a Docker engine: how live state is read back."""

from __future__ import annotations

MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY = "modelctl"
WORKSPACE = "modelctl.io/workspace"
RESOURCE = "modelctl.io/resource"
FINGERPRINT = "modelctl.io/fingerprint"
TARGET = "modelctl.io/target"
ROLE = "modelctl.io/role"  # "backend" | "router"
IMAGE_REF = "modelctl.io/image-ref"
IMAGE = "modelctl.io/image"
SPEC = "modelctl.io/spec"  # the deployment spec as compact JSON (secret names only, never values)
PREVENT_DESTROY = "modelctl.io/prevent-destroy"
BACKEND_PORT = "modelctl.io/backend-port"
SECRETS = "modelctl.io/secrets"  # secret id → digest of the value the container started with (JSON)


def managed_filter(workspace: str, **extra: str) -> dict:
    """A docker `filters` dict selecting this workspace's objects (never anything else)."""
    labels = [f"{MANAGED_BY_KEY}={MANAGED_BY}", f"{WORKSPACE}={workspace}"]
    labels += [f"{k}={v}" for k, v in extra.items()]
    return {"label": labels}
