"""What an edge target accepts, checked at validate time (file:line:col): no system modules of
IoT Edge's own, createOptions within the chunk limit, module twins within IoT Hub's size caps, and
a warning when two base deployments of a target tie on priority (the newest would win)."""

from __future__ import annotations

from collections.abc import Mapping

from ...diagnostics import Diagnostic, DiagnosticError
from ...graph import DeploymentNode, ImageNode, Node
from ...plan.target import Diagnose
from ...render import edge, edge_limits
from ...render.naming import image_tag


def check(nodes: Mapping[str, Node], deployments: list[DeploymentNode], diagnose: Diagnose) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for dep in deployments:
        _system_modules(dep, diagnose, diags)
        _limits(dep, nodes, diagnose, diags)
    _priority_ties(deployments, diagnose, diags)
    return diags


def _system_modules(dep: DeploymentNode, diagnose: Diagnose, diags: list[Diagnostic]) -> None:
    settings = dep.spec.edge
    assert settings is not None
    kind = "a layered deployment" if settings.layered else "a deployment"
    owner = "the base deployment's" if settings.layered else "set by modelctl in systemModules"
    for name in settings.modules:
        if name.lower() in edge_limits.SYSTEM_MODULES:
            diags.append(
                diagnose(
                    dep,
                    ("spec", "edge", "modules", name),
                    f"{kind} may not define the system module '{name}' (IoT Edge's own: {owner})",
                    code="edge-system-module",
                    expected="a module name other than edgeAgent and edgeHub",
                    suggestion=f"rename module '{name}'",
                )
            )
    if dep.name.lower() in edge_limits.SYSTEM_MODULES:
        diags.append(
            diagnose(
                dep,
                ("metadata", "name"),
                f"the scorer module is named after the deployment, and '{dep.name}' is an IoT Edge system module",
                code="edge-system-module",
                suggestion="rename the deployment",
            )
        )


def _limits(dep: DeploymentNode, nodes: Mapping[str, Node], diagnose: Diagnose, diags: list[Diagnostic]) -> None:
    image = nodes.get(dep.image_id)
    if not isinstance(image, ImageNode):
        return
    # The workspace's image registry is not known here; the reference it prefixes adds a few bytes
    # at most, and render checks the exact manifest again.
    try:
        manifest = edge.build_manifest(dep, image, f"{image.name}:{image_tag(image)}", None)
    except (DiagnosticError, ValueError):  # reported by their own checks (secretEnv, auth files)
        return
    settings = dep.spec.edge
    assert settings is not None
    for problem in edge.manifest_problems(manifest):
        path: tuple = ("spec", "edge")
        if problem.module in settings.modules:
            key = "desiredProperties" if problem.code != "edge-create-options" else "createOptions"
            path = ("spec", "edge", "modules", problem.module, key)
        diags.append(
            diagnose(
                dep,
                path,
                problem.message,
                code=problem.code,
                suggestion="move large configuration into a file the module reads, or split the module",
            )
        )


def _priority_ties(deployments: list[DeploymentNode], diagnose: Diagnose, diags: list[Diagnostic]) -> None:
    seen: dict[tuple[str, int], DeploymentNode] = {}
    for dep in sorted(deployments, key=lambda d: d.name):
        settings = dep.spec.edge
        assert settings is not None
        if settings.layered:
            continue
        other = seen.setdefault((dep.target_name, settings.priority), dep)
        if other is not dep:
            diags.append(
                diagnose(
                    dep,
                    ("spec", "edge", "priority"),
                    f"base deployments '{other.name}' and '{dep.name}' on target '{dep.target_name}' both have "
                    f"priority {settings.priority}: a device both target gets the one published last",
                    code="edge-priority-tie",
                    severity="warning",
                    suggestion="give the one that should win a higher priority",
                )
            )
