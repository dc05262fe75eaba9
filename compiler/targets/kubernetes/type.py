"""The kubernetes target type: rendered manifests (Deployment, Service, HPA, PDB, NetworkPolicy,
Gateway API HTTPRoute). Render only in this version: plan lists its deployments as not applied."""

from __future__ import annotations

from collections.abc import Mapping

from ...graph import DeploymentNode, EndpointNode, Graph
from ...plan.target import TargetType
from ...render import kubernetes
from ...render.tree import OutputTree


class KubernetesType(TargetType):
    name = "kubernetes"
    has_autoscaler = True

    def render_deployment(
        self, graph: Graph, node: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str]
    ) -> int:
        return kubernetes.render_deployment(graph, node, tree)

    def render_endpoint(self, graph: Graph, node: EndpointNode, tree: OutputTree) -> int:
        return kubernetes.render_endpoint(graph, node, tree)
