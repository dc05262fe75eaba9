"""`modelctl rollback` as a library call: put an earlier revision of a deployment back.

    done = rollback(Path("repo"), "cam", to=None, confirm=None)   # None: auto-approve; to=None: the previous
    done.plan.current, done.plan.to, done.run_id

The per-target part is the target type's (`TargetType.revisions` / `rollback`): docker re-runs an
image version from the registry's history, edge and fpga re-point to a kept published revision.
Here: find the deployment (did-you-mean), take the workspace lock, list revisions, pick one, confirm,
roll back, and record it (the registry's deployment record, and a history row `rollback`).
"""

from __future__ import annotations

import getpass
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..diagnostics import did_you_mean
from ..errors import ApplyError, PlanError
from ..graph import DeploymentNode, ImageNode
from ..plan import scope as plan_scope
from ..plan.deployments import deployment_spec_json
from ..plan.lock import workspace_lock
from ..plan.model import Scope
from ..plan.refs import image_reference
from ..plan.target import (
    REVISION_ID_LEN,
    DeployRequest,
    DeployResult,
    Progress,
    Revision,
    RevisionsRequest,
    RollbackMark,
    RollbackRequest,
)
from ..registry import Registry
from .session import Session

MIN_PREFIX = 4


@dataclass(frozen=True)
class RollbackPlan:
    """What a rollback will do: the deployment, what it serves now, the revision it goes back to."""

    resource: str
    target: str
    target_type: str
    current: Revision
    to: Revision
    revisions: tuple[Revision, ...]


@dataclass(frozen=True)
class RollbackDone:
    plan: RollbackPlan | None  # None: the deployment already serves the revision asked for
    run_id: str | None = None
    result: DeployResult | None = None
    cancelled: bool = False
    current: Revision | None = None


def open_session(root: Path, deployment: str, stage: str | None = None) -> tuple[Session, DeploymentNode]:
    """A session scoped to the deployment (the name checked against the repo first)."""
    from ..pipeline import load_workspace_and_names

    name = deployment.removeprefix("Deployment/")
    _, declared = load_workspace_and_names(Path(root))
    names = sorted(n for k, n in declared if k == "Deployment")
    if name not in names:
        hint = did_you_mean(name, names) or (f"deployments: {', '.join(names)}" if names else "it has none")
        raise PlanError(f"unknown deployment {name!r}: not in the repo; {hint}")
    session = Session.open(Path(root), Scope(resources=(f"Deployment/{name}",), prune=False, stage=stage))
    node = session.graph.get_as(f"Deployment/{name}", DeploymentNode)
    # only the deployment's own target is read: another target being unreachable does not matter here
    session.scope = Scope(resources=(node.id,), targets=(node.target_name,), prune=False, stage=stage)
    session.selection = plan_scope.select(session.graph, session.scope, session.types)
    return session, node


def recorded_revisions(registry: Registry | None, node: DeploymentNode) -> tuple[Revision, ...]:
    """What apply recorded deploying for the deployment on its target, newest first (history rows
    written before revisions were recorded carry no fingerprint and are left out)."""
    if registry is None:
        return ()
    out = []
    for a in registry.history(resource=node.id, limit=1000):
        d = a.detail
        if a.action not in ("create", "update") or a.result != "ok" or d.get("target") != node.target_name:
            continue
        if not d.get("fingerprint") or not d.get("ref"):
            continue
        when = a.finished_at or a.started_at
        out.append(
            Revision(
                str(d["fingerprint"]),
                str(d.get("image") or ""),
                str(d["ref"]),
                d.get("spec") or {},
                image_version=d.get("imageVersion"),
                image_port=d.get("imagePort"),
                at=when.isoformat() if when else None,
                by=a.user,
                commit=a.git_commit,
            )
        )
    return tuple(out)


def revisions_of(session: Session, node: DeploymentNode) -> list[Revision]:
    """The deployment's revisions that can be put back, newest first, the one served now marked."""
    target_type = session.types[node.target.type]
    if not target_type.rolls_back:
        raise ApplyError(
            f"{node.id} is on target {node.target_name} of type {node.target.type}, which modelctl does not "
            "roll back (kubernetes keeps its own history: kubectl rollout undo)"
        )
    live = session.read_live()
    request = RevisionsRequest(
        session.graph.workspace.name,
        session.root,
        node.target_name,
        node.target,
        node.name,
        live.targets.get(node.target_name),
        recorded_revisions(session.registry, node),
    )
    return target_type.revisions(session.connection(node.target.type), request)


def list_revisions(root: Path, deployment: str, stage: str | None = None) -> list[Revision]:
    """Read-only: `modelctl history DEPLOYMENT` lists these."""
    session, node = open_session(root, deployment, stage)
    with session:
        return revisions_of(session, node)


def shown_time(at: str) -> str:
    """An ISO 8601 time as the CLI shows it: to the second, UTC said once."""
    return at[:19].replace("T", " ") + (" UTC" if at.endswith("+00:00") else "")


def describe(rev: Revision) -> str:
    image = f"{rev.image}:{rev.image_version}" if rev.image_version is not None else rev.image or rev.image_ref
    when = f", {shown_time(rev.at)}" if rev.at else ""
    return f"{rev.id} (image {image}{when}{', current' if rev.current else ''})"


def choose(revisions: list[Revision], resource: str, to: str | None) -> tuple[Revision, Revision]:
    """(current, the revision to go back to): `to` is a fingerprint prefix; without it, the previous one."""
    current = next((r for r in revisions if r.current), None)
    if current is None:
        raise ApplyError(f"{resource}: nothing of it runs on its target now; nothing to roll back (apply it first)")
    listed = "; ".join(describe(r) for r in revisions)
    if to is None:
        older = revisions[revisions.index(current) + 1 :]
        if not older:
            raise ApplyError(
                f"{resource}: {current.id} is the oldest revision kept, there is none before it (revisions: {listed})"
            )
        return current, older[0]
    wanted = to.strip().lower()
    found = [r for r in revisions if len(wanted) >= MIN_PREFIX and r.fingerprint.startswith(wanted)]
    if len(found) == 1:
        return current, found[0]
    if len(found) > 1:
        raise ApplyError(f"{resource}: revision {to!r} is ambiguous: {', '.join(r.id for r in found)}")
    hint = did_you_mean(wanted[:REVISION_ID_LEN], [r.id for r in revisions])
    raise ApplyError(
        f"{resource}: unknown revision {to!r}"
        + (f"; {hint}" if hint else "")
        + f"; revisions (newest first): {listed}"
        + (f" (a prefix needs {MIN_PREFIX} characters or more)" if 0 < len(wanted) < MIN_PREFIX else "")
    )


def _deploy_request(session: Session, node: DeploymentNode) -> DeployRequest:
    image = session.graph.get_as(node.image_id, ImageNode)
    return DeployRequest(
        workspace=session.graph.workspace.name,
        root=session.root,
        resource=node.id,
        name=node.name,
        target_name=node.target_name,
        target=node.target,
        fingerprint=node.fingerprint,
        image_ref=image_reference(session.graph, image),
        image_name=image.name,
        image_port=image.spec.port,
        spec=node.spec,
        spec_json=deployment_spec_json(node),
    )


def _summary(rev: Revision) -> dict[str, Any]:
    return {
        "revision": rev.id,
        "fingerprint": rev.fingerprint,
        "image": rev.image,
        "imageVersion": rev.image_version,
        "ref": rev.image_ref,
    }


def rollback(
    root: Path,
    deployment: str,
    *,
    to: str | None = None,
    confirm: Callable[[RollbackPlan], bool] | None = None,
    progress: Progress = lambda _text: None,
    note: Callable[[str], None] = lambda _text: None,
    stage: str | None = None,
    user: str | None = None,
) -> RollbackDone:
    """Roll the deployment back to revision `to` (None: the previous one). confirm=None approves."""
    session, node = open_session(root, deployment, stage)
    with session:
        session.writable()
        assert session.registry is not None
        with workspace_lock(session.registry, session.graph.workspace.name, "rollback") as lease:
            for text in lease.notes:
                note(text)
            revisions = revisions_of(session, node)
            current, chosen = choose(revisions, node.id, to)
            if chosen.fingerprint == current.fingerprint:
                return RollbackDone(None, current=current)
            plan = RollbackPlan(node.id, node.target_name, node.target.type, current, chosen, tuple(revisions))
            if confirm is not None and not confirm(plan):
                return RollbackDone(plan, cancelled=True)
            return _roll(session, node, plan, user or getpass.getuser(), progress)


def _roll(session: Session, node: DeploymentNode, plan: RollbackPlan, user: str, progress: Progress) -> RollbackDone:
    assert session.registry is not None
    registry, run_id = session.registry, uuid.uuid4().hex[:12]
    started, t0 = datetime.now(UTC), time.monotonic()
    mark = RollbackMark(
        plan.current.fingerprint, plan.to.fingerprint, started.isoformat(timespec="seconds"), user, run_id
    )
    target_type = session.types[node.target.type]
    detail: dict[str, Any] = {
        "reasons": [f"rollback: {plan.current.id} → {plan.to.id} (modelctl rollback)"],
        "from": _summary(plan.current),
        "to": _summary(plan.to),
        "target": node.target_name,
        "image": plan.to.image,
        "imageVersion": plan.to.image_version,
        **({"gitBranch": session.git.branch} if session.git.branch else {}),
    }
    try:
        result = target_type.rollback(
            session.connection(node.target.type),
            RollbackRequest(_deploy_request(session, node), plan.to, mark),
            progress=progress,
        )
    except Exception as err:
        message = str(err) if isinstance(err, ApplyError) else f"{node.id}: {type(err).__name__}: {err}"
        registry.record_action(
            run_id,
            node.id,
            "rollback",
            "failed",
            git_commit=session.git.commit,
            user=user,
            detail={**detail, "error": message[:4000], "seconds": round(time.monotonic() - t0, 3)},
            started_at=started,
        )
        raise ApplyError(message) from None
    if plan.to.image and plan.to.image_version is not None:
        registry.record_deployment(
            node.name, node.target_name, plan.to.image, plan.to.image_version, result.url, plan.to.fingerprint
        )
    registry.record_action(
        run_id,
        node.id,
        "rollback",
        "ok",
        git_commit=session.git.commit,
        user=user,
        detail={**detail, "url": result.url, "seconds": round(time.monotonic() - t0, 3)},
        started_at=started,
    )
    return RollbackDone(plan, run_id, result, current=plan.current)
