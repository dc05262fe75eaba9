"""The workspace registry: models and images by name and version, plus apply locks and history.

    from compiler.registry import open_registry
    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", repo) as reg:
        model, created = reg.register_model("iris-classifier", repo / "artifacts/iris.joblib", framework="sklearn")

See docs/registry.md.
"""

from .errors import (
    DigestMismatch,
    InUse,
    InvalidArgument,
    InvalidName,
    LockHeld,
    LockLost,
    NotFound,
    RegistryError,
)
from .records import Action, AliasEvent, Deployment, ImageVersion, Lock, ModelVersion
from .registry import Registry, open_registry, open_registry_if_present

__all__ = [
    "Action",
    "AliasEvent",
    "Deployment",
    "DigestMismatch",
    "ImageVersion",
    "InUse",
    "InvalidArgument",
    "InvalidName",
    "Lock",
    "LockHeld",
    "LockLost",
    "ModelVersion",
    "NotFound",
    "Registry",
    "RegistryError",
    "open_registry",
    "open_registry_if_present",
]
