"""Resolved nodes: validated specs with their references resolved, sources and fingerprints.

Kept apart from the user-shaped documents in `compiler.spec` (as dbt keeps `unparsed` apart from
resolved nodes). Nodes are immutable; `Graph` holds them in dependency order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Literal, Sequence, TypeVar, overload

from ..diagnostics import Location
from ..spec.common import Metadata
from ..spec.deployment import DeploymentSpec
from ..spec.endpoint import EndpointSpec
from ..spec.environment import EnvironmentSpec
from ..spec.image import ImageSpec
from ..spec.model import ModelSpec
from ..spec.workspace import DockerTarget, EdgeTarget, FpgaTarget, KubernetesTarget, Target, WorkspaceSpec


@dataclass(frozen=True)
class FileRef:
    """A repo file a node uses, with its content digest (a folder's is its manifest's digest)."""

    path: str  # repo-relative posix path
    sha256: str
    is_dir: bool = False


@dataclass(frozen=True)
class Node:
    id: str  # "Kind/name"
    kind: str
    name: str
    metadata: Metadata
    source: Location
    parents: tuple[str, ...]  # ids this node depends on (its fingerprint includes theirs)
    fingerprint: str


@dataclass(frozen=True)
class ModelNode(Node):
    spec: ModelSpec
    artifact: FileRef | None  # None for a remote uri
    compiled: FileRef | None  # spec.accelerator.path


@dataclass(frozen=True)
class EnvironmentNode(Node):
    spec: EnvironmentSpec  # effective: inherited fields merged in
    curated: bool


@dataclass(frozen=True)
class ModelUse:
    model_id: str
    name: str
    selector: str  # "latest", "3", "tag:stable"


@dataclass(frozen=True)
class ImageNode(Node):
    spec: ImageSpec
    models: tuple[ModelUse, ...]
    environment_id: str | None
    scoring_script: FileRef | None


@dataclass(frozen=True)
class DeploymentNode(Node):
    spec: DeploymentSpec  # the class for the target's type (DEPLOYMENT_SPEC_BY_TARGET)
    target_name: str
    target: Target
    image_id: str


@dataclass(frozen=True)
class EndpointNode(Node):
    spec: EndpointSpec
    target_name: str
    target: Target
    deployment_ids: tuple[str, ...]


NodeT = TypeVar("NodeT", bound=Node)
TargetT = TypeVar("TargetT", DockerTarget, KubernetesTarget, EdgeTarget, FpgaTarget)


def target_as(node: DeploymentNode | EndpointNode, cls: type[TargetT]) -> TargetT:
    """node.target as the settings class of its type: the code of a target type gets only nodes on its own
    targets (the registry of target types routes them), so a mismatch is a bug, not a user error."""
    if not isinstance(node.target, cls):
        raise TypeError(f"{node.id} is on a {node.target.type} target, not a {cls.__name__}")
    return node.target


@dataclass(frozen=True)
class WorkspaceInfo:
    name: str
    spec: WorkspaceSpec
    source: Location


@dataclass(frozen=True)
class Graph:
    root: str  # absolute path of the repo
    workspace: WorkspaceInfo
    nodes: dict[str, Node] = field(default_factory=dict)  # in dependency order

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes.values())

    def get(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def get_as(self, node_id: str, cls: type[NodeT]) -> NodeT:
        """The node as the class its kind resolves to (an image's `environment_id` is an EnvironmentNode, …)."""
        node = self.nodes[node_id]
        if not isinstance(node, cls):
            raise TypeError(f"{node_id} is a {type(node).__name__}, not a {cls.__name__}")
        return node

    @overload
    def of_kind(self, kind: Literal["Model"]) -> list[ModelNode]: ...
    @overload
    def of_kind(self, kind: Literal["Environment"]) -> list[EnvironmentNode]: ...
    @overload
    def of_kind(self, kind: Literal["Image"]) -> list[ImageNode]: ...
    @overload
    def of_kind(self, kind: Literal["Deployment"]) -> list[DeploymentNode]: ...
    @overload
    def of_kind(self, kind: Literal["Endpoint"]) -> list[EndpointNode]: ...
    @overload
    def of_kind(self, kind: str) -> list[Node]: ...

    def of_kind(self, kind: str) -> Sequence[Node]:
        """The nodes of one kind; the resolver builds each kind as its own class (`Deployment` → DeploymentNode)."""
        return [n for n in self.nodes.values() if n.kind == kind]

    def children(self, node_id: str) -> list[Node]:
        return [n for n in self.nodes.values() if node_id in n.parents]

    def downstream(self, node_id: str) -> list[Node]:
        """Every node that depends on node_id, directly or not, in dependency order."""
        hit = {node_id}
        out = []
        for n in self.nodes.values():
            if hit.intersection(n.parents):
                hit.add(n.id)
                out.append(n)
        return out
