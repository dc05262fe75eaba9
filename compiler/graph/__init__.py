"""Resolve validated documents into a graph of nodes with fingerprints."""

from .nodes import (
    DeploymentNode,
    EndpointNode,
    EnvironmentNode,
    FileRef,
    Graph,
    ImageNode,
    ModelNode,
    ModelUse,
    Node,
    WorkspaceInfo,
    target_as,
)
from .resolve import build_graph

__all__ = [
    "DeploymentNode",
    "EndpointNode",
    "EnvironmentNode",
    "FileRef",
    "Graph",
    "ImageNode",
    "ModelNode",
    "ModelUse",
    "Node",
    "WorkspaceInfo",
    "build_graph",
    "target_as",
]
