"""The publishing target types: edge (IoT Edge-style deployment bundles) and fpga (accelerator host
configs), rendered, then published to a folder in the repo or an OCI registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ...diagnostics import Diagnostic
from ...errors import PlanError
from ...graph import DeploymentNode, EndpointNode, Graph, Node
from ...plan.model import Action
from ...plan.target import (
    Connection,
    ConnectOptions,
    DeploymentStatus,
    DeployResult,
    Diagnose,
    PlanContext,
    Progress,
    Revision,
    RevisionsRequest,
    RollbackMark,
    RollbackRequest,
    Running,
    TargetFacts,
    TargetType,
)
from ...render import edge, fpga
from ...render.tree import OutputTree
from ...spec.workspace import Target
from . import planning
from .facts import PublishedFacts


class PublishType(TargetType):
    applies = True
    publishes = True
    rolls_back = True
    what = ""  # how the plan names what is published

    def connect(self, options: ConnectOptions) -> Connection:
        from .adapter import PublishedDeployments

        return PublishedDeployments(options.root, options.workspace)

    def plan_deployment(self, ctx: PlanContext, node: DeploymentNode) -> Action:
        return planning.plan_deployment(ctx, node, self.what)

    def running(self, ctx: PlanContext, target_name: str) -> list[Running]:
        return planning.running(ctx, target_name)

    def status(self, facts: TargetFacts | None, deployment: str) -> DeploymentStatus:
        found = facts.of(deployment) if isinstance(facts, PublishedFacts) else None
        return DeploymentStatus("missing" if found is None else "published" if found.intact else "changed by hand")

    def kept_by_destroy(self, workspace: str, target_name: str, target: Target) -> tuple[str, ...]:
        return (
            f"devices of target {target_name}: destroy unpublishes the bundles (their folder or OCI tag); "
            "a device keeps running what it last pulled until its own deployment service removes it",
        )

    def rollback_mark(self, facts: TargetFacts | None, deployment: str) -> RollbackMark | None:
        found = facts.of(deployment) if isinstance(facts, PublishedFacts) else None
        return found.rollback if found is not None else None

    def revisions(self, connection: Connection, request: RevisionsRequest) -> list[Revision]:
        from .adapter import PublishedDeployments

        assert isinstance(connection, PublishedDeployments)
        found = request.facts.of(request.deployment) if isinstance(request.facts, PublishedFacts) else None
        return connection.revisions(request, found.fingerprint if found else None)

    def rollback(self, connection: Connection, request: RollbackRequest, *, progress: Progress) -> DeployResult:
        from .adapter import PublishedDeployments

        assert isinstance(connection, PublishedDeployments)
        return connection.rollback(request, progress=progress)

    def owned_paths(self, root: Path, target_name: str, target: Target) -> tuple[Path, ...]:
        from .location import FileLocation, parse_location, publish_setting

        try:
            location = parse_location(publish_setting(target), root, target_name)
        except PlanError:  # reported by validate and plan
            return ()
        return (location.folder,) if isinstance(location, FileLocation) else ()


class EdgeType(PublishType):
    name = "edge"
    what = "edge bundle"

    def plan_deployment(self, ctx: PlanContext, node: DeploymentNode) -> Action:
        from .edge_planning import plan_edge

        return plan_edge(ctx, node)

    def check(
        self,
        nodes: Mapping[str, Node],
        deployments: list[DeploymentNode],
        endpoints: list[EndpointNode],
        diagnose: Diagnose,
    ) -> list[Diagnostic]:
        from . import edge_checks

        return edge_checks.check(nodes, deployments, diagnose)

    def render_deployment(
        self, graph: Graph, node: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str]
    ) -> int:
        edge.render_edge(graph, node, tree)
        return 0


class FpgaType(PublishType):
    name = "fpga"
    what = "accelerator config"

    def render_deployment(
        self, graph: Graph, node: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str]
    ) -> int:
        fpga.render_fpga(graph, node, tree, model_versions)
        return 0
