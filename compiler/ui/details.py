"""Per-deployment details the listing does not carry: recent container logs, the target's conditions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TAIL = 50


def recent_logs(root: Path, workspace: str, deployment: dict[str, Any], tail: int = TAIL) -> dict[str, Any]:
    """The last lines of each container serving the deployment (targets that run containers), else why not.

    Containers are found by their labels (never another workspace's by name), as `deployments logs` does.
    """
    names = deployment.get("containers") or []
    if not names:
        why = "no container serves it" if not deployment.get("conditions") else "see the conditions"
        return {"containers": [], "note": why}
    from ..pipeline import load_workspace
    from ..targets.docker.containers import backend_named
    from ..targets.docker.engine import Engines, docker_settings

    engines = Engines()
    out = []
    try:
        target = docker_settings(load_workspace(root).spec.targets[deployment["target"]])
        client = engines.get(target.host)
        for name in names:
            container = backend_named(client, workspace, deployment["target"], deployment["name"], name)
            text = container.logs(tail=tail).decode(errors="replace") if container is not None else ""
            out.append({"name": name, "lines": text.splitlines()[-tail:], "gone": container is None})
    except Exception as exc:  # noqa: BLE001 - the engine went away meanwhile: say so
        return {"containers": out, "note": f"cannot read logs: {type(exc).__name__}: {str(exc)[:200]}"}
    finally:
        engines.close()
    return {"containers": out, "note": None}
