"""Whole-graph rules that look across nodes: edge layering, FPGA architecture matching, and what a
deployment's target type can run (docker: no scale-to-zero, no autoscaler, no mTLS; endpoints
without mirror, over deployments that accept the same credentials)."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..load import LoadedDocument
from ..names import default_keys_secret
from .nodes import DeploymentNode, EndpointNode, ImageNode, ModelNode, Node


def run_all(nodes: dict[str, Node], docs: dict[str, LoadedDocument], diags: list[Diagnostic]) -> None:
    deployments = [n for n in nodes.values() if isinstance(n, DeploymentNode)]
    _edge_layering(deployments, docs, diags)
    _fpga_architecture(deployments, nodes, docs, diags)
    _docker_limits(deployments, docs, diags)
    _docker_endpoints([n for n in nodes.values() if isinstance(n, EndpointNode)], nodes, docs, diags)


def _error(docs: dict[str, LoadedDocument], node: Node, path: tuple, message: str, **kw) -> Diagnostic:
    return Diagnostic(message, docs[node.id].raw.locate(path), path=".".join(path), **kw)


def _edge_layering(deployments: list[DeploymentNode], docs, diags: list[Diagnostic]) -> None:
    edge = [d for d in deployments if d.spec.edge is not None]
    for dep in edge:
        if not dep.spec.edge.layered:
            continue
        bases = [b for b in edge if not b.spec.edge.layered and b.target_name == dep.target_name
                 and b.spec.edge.priority < dep.spec.edge.priority]
        if not bases:
            diags.append(_error(
                docs, dep, ("spec", "edge", "layered"),
                f"layered deployment needs a base deployment (layered: false) on target '{dep.target_name}' "
                f"with a priority lower than {dep.spec.edge.priority}", code="edge-layering",
                suggestion="add a base edge deployment with a lower priority, or set 'layered: false'"))


def _fpga_architecture(deployments: list[DeploymentNode], nodes: dict[str, Node], docs, diags) -> None:
    for dep in deployments:
        if dep.spec.fpga is None:
            continue
        image = nodes[dep.image_id]
        assert isinstance(image, ImageNode)
        wanted = dep.spec.fpga.bitstream.architecture
        for use in image.models:
            model = nodes.get(use.model_id)
            if not isinstance(model, ModelNode):
                continue
            if model.spec.accelerator is None:
                diags.append(_error(
                    docs, dep, ("spec", "fpga"), f"model '{model.name}' (in image '{image.name}') has no compiled "
                    f"accelerator form for this FPGA", code="fpga-architecture",
                    expected=f"spec.accelerator with architecture '{wanted}' on Model/{model.name}",
                    suggestion="compile the model for the bitstream's architecture and set spec.accelerator"))
            elif model.spec.accelerator.architecture != wanted:
                diags.append(_error(
                    docs, dep, ("spec", "fpga", "bitstream", "architecture"),
                    f"bitstream architecture '{wanted}' does not match model '{model.name}' compiled for "
                    f"'{model.spec.accelerator.architecture}'", code="fpga-architecture",
                    expected=f"'{model.spec.accelerator.architecture}'",
                    suggestion="use a bitstream built for the model's architecture, or recompile the model"))


def _docker_limits(deployments: list[DeploymentNode], docs, diags: list[Diagnostic]) -> None:
    for dep in deployments:
        if dep.target.type != "docker":
            continue
        spec = dep.spec
        if spec.replicas == 0:
            diags.append(_error(
                docs, dep, ("spec", "replicas"), f"docker target '{dep.target_name}' cannot scale a deployment to zero",
                code="docker-replicas", expected="replicas >= 1",
                suggestion="remove the deployment from git (apply deletes its containers), or set 'replicas: 1'"))
        if spec.autoscale is not None:
            diags.append(_error(
                docs, dep, ("spec", "autoscale"), f"docker target '{dep.target_name}' has no autoscaler: "
                f"autoscale is ignored and {spec.replicas} container{'s' * (spec.replicas != 1)} run (spec.replicas)",
                code="docker-autoscale", severity="warning",
                suggestion="set spec.replicas to the count you want, or deploy to a kubernetes target"))
        if spec.auth.mode == "mtls":
            diags.append(_error(
                docs, dep, ("spec", "auth", "mode"), f"docker target '{dep.target_name}' cannot serve mtls: its router "
                "speaks plain HTTP to the backend", code="docker-mtls", expected="key, token or none",
                suggestion="use auth mode key or token, or a kubernetes target"))


def _docker_endpoints(endpoints: list[EndpointNode], nodes: dict[str, Node], docs, diags: list[Diagnostic]) -> None:
    for ep in endpoints:
        if ep.target.type != "docker":
            continue
        if ep.spec.mirror is not None:
            diags.append(_error(
                docs, ep, ("spec", "mirror"), f"docker target '{ep.target_name}' cannot mirror traffic",
                code="docker-mirror", suggestion="remove 'mirror', or route this endpoint on a kubernetes target"))
        if ep.spec.hostnames:
            diags.append(_error(
                docs, ep, ("spec", "hostnames"), f"docker target '{ep.target_name}' ignores hostnames: the endpoint "
                "has its own port on the router", code="docker-hostnames", severity="warning",
                suggestion="remove 'hostnames' (they apply on kubernetes targets)"))
        auth = {}
        for dep_id in ep.deployment_ids:
            dep = nodes.get(dep_id)
            if isinstance(dep, DeploymentNode) and ep.spec.traffic.get(dep.name, 0) > 0:
                mode = dep.spec.auth.mode
                secret = (dep.spec.auth.secret_ref or default_keys_secret(dep.name)) if mode in ("key", "token") else None
                auth[dep.name] = (mode, secret)
        if len(set(auth.values())) > 1:
            shown = ", ".join(f"{d}: {m}{f' ({s})' if s else ''}" for d, (m, s) in sorted(auth.items()))
            diags.append(_error(
                docs, ep, ("spec", "traffic"), f"the deployments behind endpoint '{ep.name}' accept different "
                f"credentials ({shown}): a caller's key would work on some requests only", code="endpoint-auth",
                expected="the same auth mode and secretRef on every deployment with traffic",
                suggestion="give the deployments the same auth.secretRef"))
