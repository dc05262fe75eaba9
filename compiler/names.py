"""Default names and paths that several stages must agree on, in one place.

A top-level module with no imports from other compiler packages, so that every stage (spec, graph,
plan, render, targets, cli) can use it without import cycles. The scoring runtime
(`compiler/runtime`) may not import it; tests check that its copies agree.
"""

from __future__ import annotations

# Where collected data is written inside a scoring container unless the spec names another file sink
# (compiler/runtime/settings.py: CollectionSettings.sink has the same default).
DEFAULT_COLLECTED_DIR = "/var/lib/modelctl/collected"

# Where kubernetes and edge mount the auth secret (one file per key of the secret).
AUTH_DIR = "/var/run/secrets/modelctl/auth"

# Folders every target mounts storage of its own at (a writable /tmp; the auth secret): a file sink
# there would be a second mount at one path, which Kubernetes and Docker refuse.
RESERVED_CONTAINER_DIRS = ("/tmp", AUTH_DIR)


def default_keys_secret(deployment: str) -> str:
    """The auth secret of a deployment whose `spec.auth.secretRef` is unset: `<deployment>-keys`."""
    return f"{deployment}-keys"


def default_collection_sink() -> str:
    """`spec.dataCollection.sink` when unset: a file sink in DEFAULT_COLLECTED_DIR."""
    return f"file://{DEFAULT_COLLECTED_DIR}"
