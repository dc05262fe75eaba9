"""Planning of edge deployments, pure: the publishing plan, told in IoT Hub terms — a new deployment
id (content changed) that outranks and retires the live one, or an in-place update."""

from __future__ import annotations

from dataclasses import replace

from ...graph import DeploymentNode
from ...plan.deployments import desired_image
from ...plan.model import Action, FieldDiff
from ...plan.target import PlanContext
from ...render import edge
from . import planning
from .iothub import Decision, decide


def plan_edge(ctx: PlanContext, node: DeploymentNode) -> Action:
    action = planning.plan_deployment(ctx, node, "edge bundle")
    if action.action == "no-op":
        return action
    decision = edge_decision(ctx, node)
    fact = planning.published_facts(ctx, node.target_name).of(node.name)
    live_priority = fact.edge.priority if fact and fact.edge else None
    diffs = list(action.diffs)
    if decision.kind == "new-deployment":
        diffs.append(FieldDiff("deployment.id", decision.replaces, decision.id))
    settings = node.spec.edge
    assert settings is not None
    if decision.priority != settings.priority and decision.priority != live_priority:  # raised above the spec's
        diffs.append(FieldDiff("deployment.priority", live_priority, decision.priority))
    reasons = [*action.reasons, decision.reason()] if decision.kind != "unchanged" else list(action.reasons)
    return replace(action, reasons=tuple(reasons), diffs=tuple(diffs))


def edge_decision(ctx: PlanContext, node: DeploymentNode) -> Decision:
    image, _, ref = desired_image(ctx, node)
    manifest = edge.build_manifest(node, image, ref, ctx.graph.workspace.spec.image_registry)
    fact = planning.published_facts(ctx, node.target_name).of(node.name)
    settings = node.spec.edge
    assert settings is not None
    return decide(fact.edge if fact else None, manifest, settings.priority)
