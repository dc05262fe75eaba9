"""The docker target type: deployments as blue/green containers behind the target's nginx router,
endpoints as router listeners split across deployments."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_address
from pathlib import Path

from ...diagnostics import Diagnostic
from ...graph import DeploymentNode, EndpointNode, Node, target_as
from ...plan.model import Action
from ...plan.target import (
    Connection,
    ConnectOptions,
    DeploymentStatus,
    Diagnose,
    EndpointStatus,
    PlanContext,
    Running,
    TargetFacts,
    TargetType,
)
from ...spec.workspace import DockerTarget, Target
from . import checks, planning
from .facts import DockerFacts


class DockerType(TargetType):
    name = "docker"
    applies = True
    routes_endpoints = True
    serves_http = True
    tls_secret_local = True  # the router's certificates come from .modelctl/secrets/<name>/

    def tls_hostnames(self, node: DeploymentNode | EndpointNode) -> tuple[str, ...]:
        """The bind address clients connect to (unless it is a wildcard), and an endpoint's hostnames."""
        bind = target_as(node, DockerTarget).bind_address
        names = () if ip_address(bind).is_unspecified else (bind,)
        return names + (tuple(node.spec.hostnames) if isinstance(node, EndpointNode) else ())

    def connect(self, options: ConnectOptions) -> Connection:
        from .adapter import DockerDeployments
        from .engine import Engines

        return DockerDeployments(Engines(), options.workspace, dict(options.base_images), options.root, options.graph)

    def plan_deployment(self, ctx: PlanContext, node: DeploymentNode) -> Action:
        return planning.plan_deployment(ctx, node)

    def plan_endpoint(self, ctx: PlanContext, node: EndpointNode) -> Action:
        return planning.plan_endpoint(ctx, node)

    def running(self, ctx: PlanContext, target_name: str) -> list[Running]:
        return planning.running(ctx, target_name)

    def status(self, facts: TargetFacts | None, deployment: str) -> DeploymentStatus:
        return facts.status(deployment) if isinstance(facts, DockerFacts) else DeploymentStatus("missing")

    def endpoint_status(self, facts: TargetFacts | None, endpoint: str) -> EndpointStatus:
        return facts.endpoint_status(endpoint) if isinstance(facts, DockerFacts) else EndpointStatus("missing")

    def infrastructure(self, workspace: str, target_name: str, facts: TargetFacts | None) -> tuple[str, ...]:
        router = facts.router if isinstance(facts, DockerFacts) else None
        if router is None:
            return ()
        from .names import routes_volume

        return (
            f"router container {router.container}",
            f"route files volume {routes_volume(workspace, target_name)}",
        )

    def kept_by_destroy(self, workspace: str, target_name: str, target: Target) -> tuple[str, ...]:
        labels = f"--filter label=modelctl.io/workspace={workspace} --filter label=modelctl.io/target={target_name}"
        return (
            f"collected data: the volumes of target {target_name} labelled modelctl.io/role=collected-data; "
            f"remove them with: docker volume rm $(docker volume ls -q {labels} "
            "--filter label=modelctl.io/role=collected-data)",
            "the router image modelctl/router:* and pulled deployment images on the engine: docker image rm IMAGE",
        )

    def collected_data(self, workspace: str, node: DeploymentNode) -> Path | None:
        """The deployment's collected-data volume, where it lives on this host (the engine must be local,
        as for secret mounts)."""
        import docker

        from . import labels as L
        from . import names
        from .containers import collected_volume_labels

        try:
            client = docker.from_env()
            try:
                volume = client.volumes.get(names.collected_volume(workspace, node.target_name, node.name))
            finally:
                client.close()
        except docker.errors.DockerException:
            return None
        expected = collected_volume_labels(workspace, node.target_name, node.name)
        if not L.owned_by(volume.attrs.get("Labels"), workspace, **expected):
            return None  # a volume of that name that is not this deployment's: never read as its data
        return Path(volume.attrs["Mountpoint"])

    def check(
        self,
        nodes: Mapping[str, Node],
        deployments: list[DeploymentNode],
        endpoints: list[EndpointNode],
        diagnose: Diagnose,
    ) -> list[Diagnostic]:
        return checks.check(nodes, deployments, endpoints, diagnose)
