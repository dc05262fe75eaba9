"""IoT Hub deployment semantics, pure: what publishing a new version of an edge deployment does.

A published deployment's content (modules, routes, module twins) is immutable: new content is a new
deployment id `<name>-<content hash>` (rendered), published with a priority above the one it replaces,
which is retired once the new one is published. Only targetCondition, labels, metrics and priority
change in place. The planner (from facts) and the publisher (from what is published at apply time)
decide with the same function, so the plan shows what apply does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ...digest import sha256_bytes
from ...render.serialize import compact_json

MUTABLE = ("targetCondition", "priority", "labels", "metrics")
FINGERPRINT_LABEL = "modelctl.io/fingerprint"  # changes with any change: not named as one


def content_sections(content: dict) -> dict[str, str]:
    """A digest per part of a deployment's content, to name what changed: each module, the runtime
    and system modules, the routes, each other module twin."""
    out: dict[str, str] = {}
    modules = content.get("modulesContent", {})
    for twin, value in modules.items():
        desired = value.get("properties.desired")
        if desired is None:  # layered: properties.desired.<path> keys
            desired = {k.removeprefix("properties.desired."): v for k, v in value.items()}
        for key, part in desired.items():
            if key in ("modules", "routes") and isinstance(part, dict):
                for name, item in part.items():
                    out[f"{key}.{name}"] = _digest(item)
            else:
                label = key if twin in ("$edgeAgent", "$edgeHub") else f"{twin} twin"
                out[label] = _digest([out.get(label), part]) if label in out else _digest(part)
    return dict(sorted(out.items()))


def _digest(value: Any) -> str:
    return sha256_bytes(compact_json(value).encode())[:16]


@dataclass(frozen=True)
class LiveDeployment:
    """The deployment published now, read from its deployment.json."""

    id: str
    priority: int
    target_condition: str
    labels: tuple[tuple[str, str], ...]
    metrics: str  # compact JSON
    sections: tuple[tuple[str, str], ...]
    spec_priority: int | None  # spec.edge.priority it was published from (the priority may be above it)

    @classmethod
    def from_manifest(cls, manifest: dict, spec_priority: int | None) -> LiveDeployment:
        return cls(
            str(manifest.get("id", "")),
            int(manifest.get("priority", 0)),
            str(manifest.get("targetCondition", "")),
            tuple(
                sorted((str(k), str(v)) for k, v in (manifest.get("labels") or {}).items() if k != FINGERPRINT_LABEL)
            ),
            compact_json(manifest.get("metrics") or {}),
            tuple(content_sections(manifest.get("content") or {}).items()),
            spec_priority,
        )


@dataclass(frozen=True)
class Decision:
    kind: Literal["create", "new-deployment", "in-place", "unchanged"]
    id: str
    priority: int
    replaces: str | None = None  # the live deployment retired once this one is published
    replaced_priority: int | None = None
    changed: tuple[str, ...] = ()  # what differs: content sections, or mutable fields

    def reason(self) -> str:
        if self.kind == "new-deployment":
            what = ", ".join(self.changed[:4]) + (" …" if len(self.changed) > 4 else "")
            return (
                f"new deployment {self.id}: content is immutable once published and {what} changed; "
                f"priority {self.priority} above {self.replaces} ({self.replaced_priority}), "
                f"which is retired once {self.id} is published"
            )
        if self.kind == "in-place":
            return f"update deployment {self.id} in place: {', '.join(self.changed)} changed (content unchanged)"
        if self.kind == "create":
            return f"deployment {self.id} at priority {self.priority}"
        return f"deployment {self.id} unchanged"


def decide(live: LiveDeployment | None, desired: dict, spec_priority: int) -> Decision:
    """What publishing `desired` (a rendered deployment.json) does over `live`."""
    new_id = str(desired["id"])
    if live is None:
        return Decision("create", new_id, spec_priority)
    if live.id != new_id:
        wanted = dict(content_sections(desired.get("content") or {}))
        had = dict(live.sections)
        changed = tuple(k for k in sorted(set(wanted) | set(had)) if wanted.get(k) != had.get(k)) or ("content",)
        return Decision(
            "new-deployment",
            new_id,
            max(spec_priority, live.priority + 1),
            replaces=live.id,
            replaced_priority=live.priority,
            changed=changed,
        )
    # The same content: a priority raised above the spec's to outrank a replaced deployment stays
    # until the spec's priority itself changes.
    priority = live.priority if live.spec_priority == spec_priority else spec_priority
    after = LiveDeployment.from_manifest({**desired, "priority": priority}, spec_priority)
    changed = tuple(
        name
        for name, old, new in (
            ("targetCondition", live.target_condition, after.target_condition),
            ("priority", live.priority, after.priority),
            ("labels", live.labels, after.labels),
            ("metrics", live.metrics, after.metrics),
        )
        if old != new
    )
    return Decision("in-place" if changed else "unchanged", new_id, priority, changed=changed)
