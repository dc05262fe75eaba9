"""What a kubernetes target can serve, checked at validate time: an endpoint with tls gets its own
Gateway, so the target names the GatewayClass; a gateway reaches a pod that serves HTTPS itself only
with a BackendTLSPolicy, which modelctl does not render (a warning)."""

from __future__ import annotations

from collections.abc import Mapping

from ...diagnostics import Diagnostic
from ...graph import DeploymentNode, EndpointNode, Node, target_as
from ...plan.target import Diagnose
from ...spec.workspace import KubernetesTarget


def check(endpoints: list[EndpointNode], nodes: Mapping[str, Node], diagnose: Diagnose) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for ep in endpoints:
        if ep.spec.tls is not None and target_as(ep, KubernetesTarget).gateway_class is None:
            diags.append(
                diagnose(
                    ep,
                    ("spec", "tls"),
                    f"endpoint '{ep.name}' has tls on kubernetes target '{ep.target_name}', which names no "
                    "gatewayClass: the certificate goes on a Gateway listener modelctl renders for the endpoint",
                    code="kubernetes-tls",
                    expected=f"spec.targets.{ep.target_name}.gatewayClass in the Workspace",
                    suggestion="set gatewayClass to the GatewayClass of your Gateway controller (kubectl get gatewayclass)",
                )
            )
        https = sorted(
            dep.name
            for dep in (nodes.get(i) for i in ep.deployment_ids)
            if isinstance(dep, DeploymentNode) and dep.spec.tls is not None and ep.spec.traffic.get(dep.name, 0) > 0
        )
        if https:
            diags.append(
                diagnose(
                    ep,
                    ("spec", "traffic"),
                    f"endpoint '{ep.name}' routes to deployments that serve HTTPS themselves ({', '.join(https)}): "
                    "a gateway reaches them only with a BackendTLSPolicy, which modelctl does not render",
                    code="kubernetes-backend-tls",
                    severity="warning",
                    suggestion="put tls on the endpoint and leave the deployments behind it plain (docs/tls.md)",
                )
            )
    return diags
