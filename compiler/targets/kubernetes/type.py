"""The kubernetes target type: rendered manifests (ServiceAccount, Deployment, Service, HPA, PDB,
NetworkPolicy; Gateway API HTTPRoute per Endpoint), and deployments applied with server-side apply.
Endpoints are HTTPRoutes, applied after the deployments they route to are rolled out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...diagnostics import Diagnostic
from ...graph import DeploymentNode, EndpointNode, Graph, Node
from ...plan.model import Action, FieldDiff
from ...plan.target import (
    Activity,
    Connection,
    ConnectOptions,
    DeploymentStatus,
    Diagnose,
    PlanContext,
    Running,
    TargetFacts,
    TargetType,
)
from ...render import kubernetes
from ...render.tree import OutputTree
from ...spec.workspace import Target
from . import checks, planning
from .facts import KubernetesFacts


class KubernetesType(TargetType):
    name = "kubernetes"
    applies = True
    routes_endpoints = True
    has_autoscaler = True

    def connect(self, options: ConnectOptions) -> Connection:
        from .adapter import KubernetesDeployments

        return KubernetesDeployments(
            options.workspace, options.root, force_conflicts=options.force_conflicts, graph=options.graph
        )

    def recent_activity(
        self, connection: Connection, target_name: str, target: Target, deployment: str, tail: int = 50
    ) -> list[Activity]:
        """Each pod of the deployment: phase, conditions, container states and its last events."""
        from .adapter import KubernetesDeployments

        assert isinstance(connection, KubernetesDeployments)
        return connection.activity(target_name, target, deployment, tail)

    def plan_deployment(self, ctx: PlanContext, node: DeploymentNode) -> Action:
        return planning.plan_deployment(ctx, node)

    def plan_endpoint(self, ctx: PlanContext, node: EndpointNode) -> Action:
        return planning.plan_endpoint(ctx, node)

    def running(self, ctx: PlanContext, target_name: str) -> list[Running]:
        return planning.running(ctx, target_name)

    def kept_by_destroy(self, workspace: str, target_name: str, target: Target) -> tuple[str, ...]:
        namespace = getattr(target, "namespace", "default")
        return (
            f"namespace {namespace} of target {target_name} and the secrets you created in it "
            f"(kubectl delete secret NAME -n {namespace}); collected data lived in the pods (emptyDir) and is gone",
        )

    def expected_differences(
        self, facts: TargetFacts | None, deployment: str, spec: Mapping[str, Any]
    ) -> list[tuple[FieldDiff, str]]:
        """With autoscale, the HPA sets spec.replicas (modelctl does not apply it): expected, not drift."""
        scale = spec.get("autoscale")
        if not isinstance(facts, KubernetesFacts) or not scale:
            return []
        found = facts.find("Deployment", deployment)
        if found is None or found.rollout is None:
            return []
        bounds = f"{scale.get('min', 1)}..{scale.get('max')} (autoscale)"
        return [(FieldDiff("spec.replicas", found.rollout.replicas, bounds), "the autoscaler (spec.autoscale)")]

    def status(self, facts: TargetFacts | None, deployment: str) -> DeploymentStatus:
        return facts.status(deployment) if isinstance(facts, KubernetesFacts) else DeploymentStatus("missing")

    def render_deployment(
        self, graph: Graph, node: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str]
    ) -> int:
        return kubernetes.render_deployment(graph, node, tree)

    def render_endpoint(self, graph: Graph, node: EndpointNode, tree: OutputTree) -> int:
        return kubernetes.render_endpoint(graph, node, tree)

    def check(
        self,
        nodes: Mapping[str, Node],
        deployments: list[DeploymentNode],
        endpoints: list[EndpointNode],
        diagnose: Diagnose,
    ) -> list[Diagnostic]:
        return checks.check(endpoints, nodes, diagnose)
