"""Helpers every target's deployment planner shares: the spec as applied, field diffs, roll-out reasons.

Only fields modelctl sets are compared (the spec it recorded on the target), never what a target
adds, so server-side defaults never show as drift.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..graph import DeploymentNode, ImageNode
from ..render.runtime_settings import BATCHING
from .model import Action, ActionKind, DeploymentChange, FieldDiff, ImageChange
from .refs import image_reference
from .target import PlanContext


def deployment_spec_json(node: DeploymentNode) -> dict[str, Any]:
    """What a deployment is started from; recorded on the target and compared field by field."""
    return node.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def set_fields(node: DeploymentNode) -> dict[str, Any]:
    """What the user wrote (defaults left out): shown for a new deployment."""
    return node.spec.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: value}


def spec_diffs(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldDiff]:
    old = _flatten(before, "spec") if before else {}
    new = _flatten(after, "spec") if after else {}
    return [
        FieldDiff(path, old.get(path), new.get(path))
        for path in sorted(set(old) | set(new))
        if old.get(path) != new.get(path)
    ]


def creation_diffs(node: DeploymentNode, ref: str) -> tuple[FieldDiff, ...]:
    """A new deployment: its image and every field the user set."""
    return tuple([FieldDiff("image", None, ref)] + spec_diffs(None, set_fields(node)))


def deployment_action(
    node: DeploymentNode, kind: ActionKind, reasons: Sequence[str], diffs: Sequence[FieldDiff], change: DeploymentChange
) -> Action:
    why = batching_reason(node, diffs) if kind in ("create", "update") else None
    return Action(
        node.id,
        kind,
        tuple(reasons) + ((why,) if why else ()),
        tuple(diffs),
        target=node.target_name,
        fingerprint=node.fingerprint,
        change=change,
    )


def batching_reason(node: DeploymentNode, diffs: Sequence[FieldDiff]) -> str | None:
    """Say what batching will be when a change touches it (spec fields, or on targets compared by their
    objects, the runtime's batching variables)."""
    names = ("batching", *BATCHING.values())
    if not any(name in d.path for d in diffs for name in names):
        return None
    batching = node.spec.runtime.batching if node.spec.runtime else None
    if batching is None:
        return "batching: off"
    return (
        f"batching: on, up to {batching.max_batch_size} rows per predict call, "
        f"waiting at most {batching.max_latency_ms} ms"
    )


def desired_image(ctx: PlanContext, node: DeploymentNode) -> tuple[ImageNode, Action | None, str]:
    """The deployment's image node, the image's planned action, and the reference to deploy."""
    image = ctx.graph.get_as(node.image_id, ImageNode)
    action = ctx.actions.get(node.image_id)
    ref = (
        action.change.ref
        if action is not None and isinstance(action.change, ImageChange)
        else image_reference(ctx.graph, image)
    )
    return image, action, ref


def rollout(
    image_node: ImageNode, image_action: Action | None, old_ref: str, ref: str, old_spec_text: str, spec: dict[str, Any]
) -> tuple[list[str], list[FieldDiff]]:
    """Why a running (or published) deployment differs from git: its image, its spec fields, or else
    something only the fingerprint sees (target settings)."""
    reasons: list[str] = []
    diffs: list[FieldDiff] = []
    if old_ref != ref:
        why = ""
        if image_action and image_action.is_change:
            models = [r.split(": ", 1)[-1] for r in image_action.reasons if r.startswith("rebuild: model")]
            why = f" ({'; '.join(models)})" if models else " (rebuilt)"
        reasons.append(f"roll out: image {image_node.name} changed{why}")
        diffs.append(FieldDiff("image", old_ref, ref))
    try:
        old_spec = json.loads(old_spec_text) if old_spec_text else None
    except ValueError:
        old_spec = None
    changed = spec_diffs(old_spec, spec)
    diffs += changed
    if changed:
        reasons.append(
            "roll out: " + ", ".join(d.path for d in changed[:4]) + (" …" if len(changed) > 4 else "") + " changed"
        )
    if not reasons:
        reasons.append("roll out: deployment definition changed (target settings)")
    return reasons, diffs


def record_outdated(ctx: PlanContext, node: DeploymentNode) -> bool:
    """The registry's record of the deployment is missing or from another fingerprint."""
    record = ctx.live.record(node.target_name, node.name)
    return record is None or record.fingerprint != node.fingerprint
