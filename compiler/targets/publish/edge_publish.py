"""Publishing an edge bundle under IoT Hub semantics: decided against what is published right now
(the same `iothub.decide` the plan used), the rendered deployment.json gets the priority it must
have, and the marker records the deployment id, its priority, what it replaces, and when."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from ...render.edge import edge_files
from .bundles import FileBundles, OciBundles
from .iothub import Decision, LiveDeployment, decide


def prepare(bundles: FileBundles | OciBundles, name: str, rendered: Path, spec_priority: int) -> Decision:
    """Decide, and rewrite the rendered files when the priority must rise above the replaced one."""
    manifest = json.loads((rendered / "deployment.json").read_text(encoding="utf-8"))
    live = _live(bundles, name)
    decision = decide(live, manifest, spec_priority)
    if decision.priority != manifest.get("priority"):
        for rel, data in edge_files({**manifest, "priority": decision.priority}).items():
            (rendered / rel).write_bytes(data)
    return decision


def _live(bundles: FileBundles | OciBundles, name: str) -> LiveDeployment | None:
    found = next((b for b in bundles.list() if b.name == name and b.intact), None)
    data = bundles.read(found, "deployment.json") if found else None
    if found is None or not data:
        return None
    spec_priority = ((found.marker.get("spec") or {}).get("edge") or {}).get("priority")
    return LiveDeployment.from_manifest(json.loads(data), spec_priority if isinstance(spec_priority, int) else None)


def marker_fields(decision: Decision) -> dict:
    return {
        "deploymentId": decision.id,
        "priority": decision.priority,
        "replaces": decision.replaces,
        "publishedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def note(decision: Decision) -> str:
    if decision.kind == "new-deployment":
        return (
            f"deployment {decision.id} published at priority {decision.priority}; "
            f"{decision.replaces} retired (no longer published)"
        )
    return f"deployment {decision.id} at priority {decision.priority} ({decision.kind})"
