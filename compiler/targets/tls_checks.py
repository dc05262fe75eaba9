"""Validate rules of `tls.secretRef` on every target type: the secret exists (where apply reads it),
its key matches its certificate, the certificate covers the names clients use and has not expired;
a certificate expiring within 30 days is a warning (the plan shows validate's warnings)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from ..diagnostics import Diagnostic
from ..graph import DeploymentNode, EndpointNode, Node
from ..plan.target import Diagnose, TargetType
from ..tls import EXPIRY_WARNING_DAYS, inspect_secret, read_tls_secret, secret_folder


def needs_client_ca(node: DeploymentNode | EndpointNode, nodes: Mapping[str, Node]) -> bool:
    """mtls: the deployment's auth mode, or that of a deployment an endpoint sends traffic to."""
    if isinstance(node, DeploymentNode):
        return node.spec.auth.mode == "mtls"
    return any(
        isinstance(dep, DeploymentNode) and dep.spec.auth.mode == "mtls" and node.spec.traffic.get(dep.name, 0) > 0
        for dep in (nodes.get(i) for i in node.deployment_ids)
    )


def check(
    root: Path,
    target_type: TargetType,
    nodes: Mapping[str, Node],
    served: list[DeploymentNode | EndpointNode],
    diagnose: Diagnose,
    *,
    now: datetime | None = None,
) -> list[Diagnostic]:
    now = now or datetime.now(timezone.utc)
    diags: list[Diagnostic] = []
    for node in served:
        if node.spec.tls is None:
            continue
        name = node.spec.tls.secret_ref
        files = read_tls_secret(root, name)
        if files is None:
            if target_type.tls_secret_local:
                folder = secret_folder(Path("."), name).as_posix()
                diags.append(
                    diagnose(
                        node,
                        ("spec", "tls"),
                        f"tls secret '{name}' not found: {folder}/ needs tls.crt and tls.key",
                        code="tls-secret",
                        expected=f"{folder}/tls.crt, {folder}/tls.key (and ca.crt for mtls), mode 0600",
                        suggestion="create the certificate (docs/tls.md: a local CA with openssl) and copy it there",
                    )
                )
            continue  # on a cluster or a device the secret lives there; a local copy is checked when present
        report = inspect_secret(files, target_type.tls_hostnames(node), need_ca=needs_client_ca(node, nodes), now=now)
        for problem in report.problems:
            diags.append(
                diagnose(
                    node,
                    ("spec", "tls"),
                    f"tls secret '{name}': {problem}",
                    code="tls-secret",
                    expected="a valid certificate whose key matches, covering the names clients use",
                    suggestion="issue a new certificate (docs/tls.md) and replace the files of the secret",
                )
            )
        days = report.expires_in_days(now)
        if not report.problems and days is not None and days < EXPIRY_WARNING_DAYS:
            assert report.not_after is not None
            left = round(days)
            diags.append(
                diagnose(
                    node,
                    ("spec", "tls"),
                    f"the certificate of tls secret '{name}' expires in {left} day{'s' * (left != 1)} "
                    f"({report.not_after:%Y-%m-%d} UTC)",
                    code="tls-expiry",
                    severity="warning",
                    suggestion="rotate it: replace tls.crt and tls.key, then apply (a graceful reload, no restart)",
                )
            )
    return diags
