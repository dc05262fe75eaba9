"""The docker target type: deployments as blue/green containers behind the target's nginx router,
endpoints as router listeners split across deployments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from ipaddress import ip_address
from pathlib import Path

from ...diagnostics import Diagnostic
from ...errors import ApplyError
from ...graph import DeploymentNode, EndpointNode, Node, target_as
from ...plan.model import Action
from ...plan.target import (
    Activity,
    Connection,
    ConnectOptions,
    DeploymentStatus,
    DeployResult,
    Diagnose,
    EndpointStatus,
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
from ...spec.workspace import DockerTarget, Target
from . import checks, planning
from .facts import DockerFacts


class DockerType(TargetType):
    name = "docker"
    applies = True
    routes_endpoints = True
    serves_http = True
    rolls_back = True
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

    def recent_activity(
        self, connection: Connection, target_name: str, target: Target, deployment: str, tail: int = 50
    ) -> list[Activity]:
        """The last log lines of each container serving the deployment (found by labels, never by name)."""
        from .adapter import DockerDeployments
        from .containers import backends
        from .engine import docker_settings

        assert isinstance(connection, DockerDeployments)
        client = connection.engines.get(docker_settings(target).host)
        return [
            Activity(
                f"container {c.name} ({c.status})",
                tuple(c.logs(tail=tail).decode(errors="replace").splitlines()[-tail:]),
            )
            for c in backends(client, connection.workspace, target_name, deployment)
        ]

    def infrastructure(self, workspace: str, target_name: str, facts: TargetFacts | None) -> tuple[str, ...]:
        router = facts.router if isinstance(facts, DockerFacts) else None
        if router is None:
            return ()
        from . import router_tls
        from .names import routes_volume

        return (
            f"router container {router.container}",
            f"route files volume {routes_volume(workspace, target_name)}",
            f"certificates volume {router_tls.volume_name(routes_volume(workspace, target_name))}",
        )

    def kept_by_destroy(self, workspace: str, target_name: str, target: Target) -> tuple[str, ...]:
        labels = f"--filter label=modelctl.io/workspace={workspace} --filter label=modelctl.io/target={target_name}"
        return (
            f"collected data: the volumes of target {target_name} labelled modelctl.io/role=collected-data; "
            f"remove them with: docker volume rm $(docker volume ls -q {labels} "
            "--filter label=modelctl.io/role=collected-data)",
            "the router image modelctl/router:* and pulled deployment images on the engine: docker image rm IMAGE",
        )

    # --- rollback: the image versions (and specs) the registry's history says the deployment ran ---

    def rollback_mark(self, facts: TargetFacts | None, deployment: str) -> RollbackMark | None:
        serving = facts.serving(deployment) if isinstance(facts, DockerFacts) else None
        return serving.rollback if serving is not None else None

    def revisions(self, connection: Connection, request: RevisionsRequest) -> list[Revision]:
        """What the history recorded this deployment running (first time each), and what runs now."""
        facts = request.facts if isinstance(request.facts, DockerFacts) else DockerFacts()
        serving = facts.serving(request.deployment)
        current = serving.fingerprint if serving else None
        first: dict[str, Revision] = {}
        for r in reversed(request.recorded):  # oldest first: keep when each revision was first deployed
            first.setdefault(r.fingerprint, r)
        out = [replace(r, current=r.fingerprint == current) for r in first.values()]
        if serving is not None and current not in first:  # deployed before the history kept revisions
            spec = _json(serving.spec)
            out.append(Revision(serving.fingerprint, str(spec.get("image", "")), serving.image_ref, spec, current=True))
        return sorted(out, key=lambda r: r.at or "", reverse=True)

    def rollback(self, connection: Connection, request: RollbackRequest, *, progress: Progress) -> DeployResult:
        """A blue/green roll to the revision's image and spec, its containers marked as rolled back."""
        from pydantic import ValidationError

        base, rev = request.deploy, request.revision
        try:
            spec = type(base.spec).model_validate(dict(rev.spec))
        except ValidationError as exc:
            raise ApplyError(
                f"{base.resource}: the spec recorded for revision {rev.id} does not validate any more "
                f"({exc.errors()[0].get('msg', exc)}); roll back to another revision"
            ) from None
        deploy = replace(
            base,
            fingerprint=rev.fingerprint,
            image_ref=rev.image_ref,
            image_name=rev.image or base.image_name,
            image_port=rev.image_port or base.image_port,
            spec=spec,
            spec_json=dict(rev.spec),
            rollback=request.mark,
        )
        return connection.deploy(deploy, progress=progress)

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


def _json(text: str) -> dict:
    import json

    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
