"""What a docker target can run, checked at validate time: no scale-to-zero, no autoscaler (a
warning), mTLS only with a tls secret (the router checks client certificates); endpoints without
mirror or hostnames, over deployments that accept the same credentials (mtls ones: with tls)."""

from __future__ import annotations

from collections.abc import Mapping

from ...diagnostics import Diagnostic
from ...graph import DeploymentNode, EndpointNode, Node
from ...names import default_keys_secret
from ...plan.target import Diagnose
from ..tls_checks import needs_client_ca


def check(
    nodes: Mapping[str, Node], deployments: list[DeploymentNode], endpoints: list[EndpointNode], diagnose: Diagnose
) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    _limits(deployments, diagnose, diags)
    _endpoints(endpoints, nodes, diagnose, diags)
    return diags


def _limits(deployments: list[DeploymentNode], diagnose: Diagnose, diags: list[Diagnostic]) -> None:
    for dep in deployments:
        spec = dep.spec
        if spec.replicas == 0:
            diags.append(
                diagnose(
                    dep,
                    ("spec", "replicas"),
                    f"docker target '{dep.target_name}' cannot scale a deployment to zero",
                    code="docker-replicas",
                    expected="replicas >= 1",
                    suggestion="remove the deployment from git (apply deletes its containers), or set 'replicas: 1'",
                )
            )
        if spec.autoscale is not None:
            diags.append(
                diagnose(
                    dep,
                    ("spec", "autoscale"),
                    f"docker target '{dep.target_name}' has no autoscaler: "
                    f"autoscale is ignored and {spec.replicas} container{'s' * (spec.replicas != 1)} run (spec.replicas)",
                    code="docker-autoscale",
                    severity="warning",
                    suggestion="set spec.replicas to the count you want, or deploy to a kubernetes target",
                )
            )
        if spec.auth.mode == "mtls" and spec.tls is None:
            diags.append(
                diagnose(
                    dep,
                    ("spec", "auth", "mode"),
                    f"auth mode mtls on docker target '{dep.target_name}' needs 'tls': the router checks client "
                    "certificates against the ca.crt of the tls secret",
                    code="docker-mtls",
                    expected="spec.tls.secretRef naming a secret with tls.crt, tls.key and ca.crt",
                    suggestion="add 'tls: {secretRef: NAME}' (docs/tls.md), or use auth mode key or token",
                )
            )


def _endpoints(
    endpoints: list[EndpointNode], nodes: Mapping[str, Node], diagnose: Diagnose, diags: list[Diagnostic]
) -> None:
    for ep in endpoints:
        if ep.spec.mirror is not None:
            diags.append(
                diagnose(
                    ep,
                    ("spec", "mirror"),
                    f"docker target '{ep.target_name}' cannot mirror traffic",
                    code="docker-mirror",
                    suggestion="remove 'mirror', or route this endpoint on a kubernetes target",
                )
            )
        if ep.spec.hostnames:
            diags.append(
                diagnose(
                    ep,
                    ("spec", "hostnames"),
                    f"docker target '{ep.target_name}' ignores hostnames: the endpoint has its own port on the router",
                    code="docker-hostnames",
                    severity="warning",
                    suggestion="remove 'hostnames' (they apply on kubernetes targets)",
                )
            )
        if ep.spec.tls is None and needs_client_ca(ep, nodes):
            diags.append(
                diagnose(
                    ep,
                    ("spec", "traffic"),
                    f"endpoint '{ep.name}' sends traffic to mtls deployments but has no 'tls': its listener "
                    "would take requests without a client certificate",
                    code="docker-mtls",
                    expected="spec.tls.secretRef naming a secret with tls.crt, tls.key and ca.crt",
                    suggestion="add 'tls: {secretRef: NAME}' to the endpoint (the deployments' secret will do)",
                )
            )
        auth = {}
        for dep_id in ep.deployment_ids:
            dep = nodes.get(dep_id)
            if isinstance(dep, DeploymentNode) and ep.spec.traffic.get(dep.name, 0) > 0:
                mode = dep.spec.auth.mode
                secret = (
                    (dep.spec.auth.secret_ref or default_keys_secret(dep.name)) if mode in ("key", "token") else None
                )
                auth[dep.name] = (mode, secret)
        if len(set(auth.values())) > 1:
            modes = {m for m, _ in auth.values()}
            if len(modes) > 1:  # the modes differ: a secret in common would not help
                shown = ", ".join(f"{d}: {m}" for d, (m, _) in sorted(auth.items()))
                message = (
                    f"the deployments behind endpoint '{ep.name}' use different auth modes ({shown}): "
                    "a caller's credentials would work on some requests only"
                )
                expected = "the same auth.mode on every deployment with traffic"
                hint = f"set the same auth.mode on every deployment with traffic (one of: {', '.join(sorted(modes))})"
            else:
                shown = ", ".join(f"{d}: {s}" for d, (_, s) in sorted(auth.items()))
                message = (
                    f"the deployments behind endpoint '{ep.name}' read their {modes.pop()} credentials from "
                    f"different secrets ({shown}): a caller's key would work on some requests only"
                )
                expected = "the same auth.secretRef on every deployment with traffic"
                hint = "give the deployments the same auth.secretRef"
            diags.append(
                diagnose(ep, ("spec", "traffic"), message, code="endpoint-auth", expected=expected, suggestion=hint)
            )
