"""Per-deployment details the listing does not carry: what its target says lately about each replica
(container logs on docker; pod phase, conditions and events on kubernetes), through the target type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..pipeline import load_workspace
from ..plan.target import ConnectOptions, TargetTypes
from ..targets import TARGET_TYPES

TAIL = 50


def recent_activity(
    root: Path, workspace: str, deployment: dict[str, Any], tail: int = TAIL, *, types: TargetTypes = TARGET_TYPES
) -> dict[str, Any]:
    """{"replicas": [{"source", "lines"}], "note"}: read-only, one connection opened and closed here."""
    target_type = types[deployment["targetType"]]
    if not target_type.applies:
        return {"replicas": [], "note": "render only: nothing runs on this target"}
    try:
        ws = load_workspace(root)
        target = ws.spec.targets[deployment["target"]]
        connection = target_type.connect(ConnectOptions(workspace, Path(root), dict(ws.spec.base_images)))
        try:
            found = target_type.recent_activity(connection, deployment["target"], target, deployment["name"], tail)
        finally:
            connection.close()
    except Exception as exc:  # noqa: BLE001 - the target went away, or never answered: say so
        return {
            "replicas": [],
            "note": f"cannot read the target: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}",
        }
    replicas = [{"source": a.source, "lines": list(a.lines)} for a in found]
    return {"replicas": replicas, "note": None if replicas else "nothing of it runs on the target"}
