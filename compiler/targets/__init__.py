"""Target types, one package each, and the one registry of them (`TARGET_TYPES`).

Adding a target type: a package here with a `TargetType` subclass (see `compiler/plan/target.py`
and docs/architecture.md, "Adding a target type") and one entry below. The Workspace schema's
target settings (`compiler/spec/workspace.py`) name the type.
"""

from __future__ import annotations

from types import MappingProxyType

from ..plan.target import TargetType, TargetTypes
from .docker.type import DockerType
from .kubernetes.type import KubernetesType
from .publish.type import EdgeType, FpgaType

TARGET_TYPES: TargetTypes = MappingProxyType(
    {t.name: t for t in (DockerType(), KubernetesType(), EdgeType(), FpgaType())}
)

__all__ = ["TARGET_TYPES", "TargetType"]
