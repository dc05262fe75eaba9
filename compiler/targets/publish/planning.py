"""Planning for publishing targets (edge bundles, FPGA host configs), pure: publish, republish or
unpublish a deployment's rendered bundle, from the spec and the target's `PublishedFacts`."""

from __future__ import annotations

from ...graph import DeploymentNode
from ...plan.deployments import (
    creation_diffs,
    deployment_action,
    deployment_spec_json,
    desired_image,
    record_outdated,
    rollout,
)
from ...plan.model import Action, DeploymentChange, FieldDiff, Removal
from ...plan.target import PlanContext, Running
from .facts import PublishedFacts
from .location import publish_setting


def published_facts(ctx: PlanContext, target_name: str) -> PublishedFacts:
    found = ctx.facts(target_name)
    return found if isinstance(found, PublishedFacts) else PublishedFacts()


def plan_deployment(ctx: PlanContext, node: DeploymentNode, what: str) -> Action:
    """what: how the plan names the bundle ("edge bundle", "accelerator config")."""
    image_node, image_action, ref = desired_image(ctx, node)
    fact = published_facts(ctx, node.target_name).of(node.name)
    change = DeploymentChange(image_node.name, ref, fact.where if fact else None)
    if fact is None:
        where = publish_setting(node.target)
        return deployment_action(
            node,
            "create",
            [f"publish: {what} of {node.name} to target {node.target_name} ({where})"],
            creation_diffs(node, ref),
            change,
        )
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    if fact.fingerprint != node.fingerprint:
        reasons, diffs = rollout(image_node, image_action, fact.image_ref, ref, fact.spec, deployment_spec_json(node))
        reasons = [r.replace("roll out:", "republish:", 1) for r in reasons]
    elif not fact.intact:
        reasons.append(f"republish: the published files at {fact.where} were changed by hand")
    if not reasons and record_outdated(ctx, node):
        reasons.append("record: the registry's deployment record is missing or outdated")
    return deployment_action(node, "update" if reasons else "no-op", reasons, diffs, change)


def running(ctx: PlanContext, target_name: str) -> list[Running]:
    return [
        Running(
            "Deployment",
            Removal(b.deployment, published=b.where),
            FieldDiff("published", b.where, None),
            b.prevent_destroy,
        )
        for b in published_facts(ctx, target_name).bundles
    ]
