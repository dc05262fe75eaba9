"""One read of the workspace for every view: one compile, one git read, one live read per target type.

A target type that cannot be read (no engine, no API server) is reported as unreachable and left out
of the plan's scope; the other targets are still planned and checked for drift. Everything returned
is plain JSON (the API's response bodies); nothing here writes anything.
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path
from typing import Any

from ..diagnostics import DiagnosticError
from ..gitops.drift import DriftReport, find_drift
from ..gitops.drift import to_json as drift_json
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode
from ..plan.deployments import deployment_spec_json
from ..plan.explain import render_markdown, summary_line
from ..plan.model import Plan, Scope
from ..plan.scope import facts_requests, select, wanted
from ..plan.state import LiveState, RegistryReader, StateReader, Wanted, read_live_state
from ..plan.target import DeploymentStatus, TargetFacts, TargetTypes
from ..targets import TARGET_TYPES
from ..workflow import Session

SHORT = 12  # characters of a fingerprint shown


def short(fingerprint: str | None) -> str | None:
    return fingerprint.removeprefix("sha256:")[:SHORT] if fingerprint else None


def apply_command(root: Path, resource: str | None = None, target: str | None = None) -> str:
    """The CLI command that would make live state match git (the UI never runs it)."""
    parts = ["modelctl", "apply", str(root)]
    if target:
        parts += ["--targets", target]
    if resource:
        parts += ["--target", resource]
    return " ".join(parts)


@dataclasses.dataclass(frozen=True)
class _Facts:
    facts: dict[str, TargetFacts]

    def read(self, _wanted: Wanted) -> dict[str, Any]:
        return {"targets": self.facts}


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _read_targets(session: Session) -> tuple[dict[str, TargetFacts], dict[str, str]]:
    """Every managed target's facts, one read per type; {target: why} for the ones that failed."""
    facts: dict[str, TargetFacts] = {}
    unreachable: dict[str, str] = {}
    for type_name, request in facts_requests(session.graph, session.selection, session.types).items():
        try:
            facts.update(session.connection(type_name).read_facts(request))
        except Exception as exc:  # noqa: BLE001 - an unreachable target is a state to show, not a crash
            for name, _ in request.targets:
                unreachable[name] = _reason(exc)
    return facts, unreachable


def _live(session: Session, facts: dict[str, TargetFacts]) -> LiveState:
    want = wanted(session.graph, session.selection)
    readers: list[StateReader] = [RegistryReader(session.registry), _Facts(facts)]
    if want.refs:
        from ..targets.oci import OciClient, OciReader

        session._oci = session._oci or OciClient()
        readers.append(OciReader(session._oci))
    return read_live_state(readers, want)


def _narrow(session: Session, unreachable: dict[str, str]) -> Session:
    """The session without the unreachable targets (None left: nothing to plan)."""
    keep = tuple(sorted(set(session.graph.workspace.spec.targets) - set(unreachable)))
    scope = Scope(targets=keep)
    return dataclasses.replace(session, scope=scope, selection=select(session.graph, scope, session.types))


def _drift(session: Session, plan: Plan, live: LiveState) -> DriftReport:
    graph, scope = session.graph, session.scope
    specs = {n.id: deployment_spec_json(n) for n in graph.of_kind("Deployment")}
    targets = {
        name: t.type for name, t in graph.workspace.spec.targets.items() if not scope.targets or name in scope.targets
    }
    return find_drift(plan, live, specs=specs, targets=targets, types=session.types)


def _ready(health: str, desired: int) -> int:
    """Ready replicas out of a target's health text ("healthy", "2/3 running", "1/2 ready", "exited")."""
    found = re.match(r"(\d+)/(\d+)", health)
    if found:
        return int(found.group(1))
    return desired if health in ("healthy", "running") else 0


def read_snapshot(root: Path, *, types: TargetTypes = TARGET_TYPES) -> dict[str, Any]:
    """The whole workspace as the API serves it. A repo that does not compile is a snapshot with `problems`."""
    started = time.perf_counter()
    root = Path(root).resolve()
    try:
        session = Session.open(root, Scope(), types=types)
    except DiagnosticError as err:
        found = [{"location": str(d.location) if d.location else None, "message": d.message} for d in err.diagnostics]
        return {"workspace": None, "root": str(root), "problems": found}
    except Exception as exc:  # noqa: BLE001 - e.g. the registry database does not answer: shown, not a 500
        return {"workspace": None, "root": str(root), "problems": [{"location": None, "message": _reason(exc)}]}
    with session:
        facts, unreachable = _read_targets(session)
        problems: list[dict[str, Any]] = []
        narrowed = _narrow(session, unreachable) if unreachable else session
        plan = drift = live = None
        if not unreachable or narrowed.scope.targets:
            try:
                live = _live(narrowed, facts)
                plan = narrowed.plan(live)
                drift = _drift(narrowed, plan, live)
            except Exception as exc:  # noqa: BLE001 - e.g. the image registry is down: shown, not crashed
                problems.append({"location": None, "message": f"cannot read live state: {_reason(exc)}"})
        snap = _assemble(session, facts, unreachable, live, plan, drift, types)
        snap["problems"] = problems
        snap["readSeconds"] = round(time.perf_counter() - started, 3)
        return snap


def _assemble(
    session: Session,
    facts: dict[str, TargetFacts],
    unreachable: dict[str, str],
    live: LiveState | None,
    plan: Plan | None,
    drift: DriftReport | None,
    types: TargetTypes,
) -> dict[str, Any]:
    graph = session.graph
    live = live or LiveState()
    actions = {a.resource: a for a in plan.actions} if plan else {}
    drift_of = {i.resource: i for i in drift.items} if drift else {}
    records = {(r.target, r.name): r for r in live.records}
    # when each deployment last rolled out: its registry record's time (apply writes it on success)
    rolled = (
        {(d.target, d.name): d.updated_at.isoformat() for d in session.registry.list_deployments()}
        if session.registry
        else {}
    )

    def state(resource: str, target: str | None = None) -> dict[str, Any]:
        if target in unreachable:
            return {"drift": "unknown", "action": None, "reasons": [f"target {target} unreachable"]}
        if target and not types[graph.workspace.spec.targets[target].type].applies:
            return {"drift": "not checked", "action": None, "reasons": ["render only: apply does not manage it"]}
        item, action = drift_of.get(resource), actions.get(resource)
        if action is None:
            return {"drift": "unknown", "action": None, "reasons": ["not planned: only unreachable targets use it"]}
        return {
            "drift": item.kind if item else "in sync",
            "action": action.action,
            "reasons": list(action.reasons),
        }

    nodes: list[dict[str, Any]] = []
    for node in graph.nodes.values():
        if node.kind not in ("Model", "Image", "Deployment", "Endpoint"):
            continue
        entry: dict[str, Any] = {
            "id": node.id,
            "kind": node.kind,
            "name": node.name,
            "fingerprint": short(node.fingerprint),
            "source": str(node.source),
            "parents": [p for p in node.parents if p.split("/", 1)[0] in ("Model", "Image", "Deployment")],
        }
        if node.kind == "Model":
            fact = live.models.get(node.name)
            entry |= {"version": fact.version if fact else None, "tags": dict(node.metadata.tags or {})}
            entry |= state(node.id)
        elif isinstance(node, ImageNode):
            img = live.images.get(node.name)
            entry |= {"version": img.version if img else None, "models": [u.name for u in node.models]}
            entry |= state(node.id)
        elif isinstance(node, DeploymentNode):
            entry |= _deployment(node, facts, records, unreachable, types) | state(node.id, node.target_name)
            entry["lastRollout"] = rolled.get((node.target_name, node.name))
            entry["command"] = apply_command(Path(graph.root), node.id, node.target_name)
        elif isinstance(node, EndpointNode):
            entry |= _endpoint(node, facts, unreachable, types) | state(node.id, node.target_name)
            entry["parents"] = list(node.deployment_ids)
        nodes.append(entry)
    targets = [
        {
            "name": name,
            "type": t.type,
            "applied": types[t.type].applies,
            "reachable": name not in unreachable,
            "error": unreachable.get(name),
        }
        for name, t in sorted(graph.workspace.spec.targets.items())
    ]
    return {
        "workspace": graph.workspace.name,
        "root": graph.root,
        "git": {"commit": session.git.commit, "branch": session.git.branch, "dirty": session.git.dirty},
        "registry": session.registry is not None,
        "targets": targets,
        "nodes": nodes,
        "drift": drift_json(drift) if drift else None,
        "plan": _plan(plan, graph) if plan else None,
        "warnings": list(session.warnings),
    }


def _deployment(
    node: DeploymentNode,
    facts: dict[str, TargetFacts],
    records: dict[tuple[str, str], Any],
    unreachable: dict[str, str],
    types: TargetTypes,
) -> dict[str, Any]:
    spec = node.spec
    target_type = types[node.target.type]
    record = records.get((node.target_name, node.name))
    desired = int(getattr(spec, "replicas", 1) or 1)
    if node.target_name in unreachable:
        status = DeploymentStatus(f"unknown (target unreachable: {unreachable[node.target_name]})")
    else:
        status = target_type.status(facts.get(node.target_name), node.name)
    health, containers, conditions = status.health, status.containers, status.conditions
    auth = getattr(spec, "auth", None)
    return {
        "target": node.target_name,
        "targetType": node.target.type,
        "image": node.image_id.split("/", 1)[1],
        "imageVersion": record.image_version if record else None,
        "url": record.url if record else None,
        "liveFingerprint": short(record.fingerprint) if record else None,
        "health": health,
        "ready": _ready(health, desired) if containers or target_type.applies else None,
        "desired": desired,
        "containers": list(containers),
        "conditions": list(conditions),
        # the mode and the secret's *name* only: a secret value never leaves the target
        "auth": {"mode": auth.mode, "secretRef": auth.secret_ref} if auth is not None else None,
        "autoscale": bool(getattr(spec, "autoscale", None)),
    }


def _endpoint(
    node: EndpointNode, facts: dict[str, TargetFacts], unreachable: dict[str, str], types: TargetTypes
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "target": node.target_name,
        "targetType": node.target.type,
        "traffic": dict(node.spec.traffic),
        "liveTraffic": None,
        "url": None,
        "health": "-",
    }
    target_type = types[node.target.type]
    if node.target_name in unreachable:
        out["health"] = f"unknown (target unreachable: {unreachable[node.target_name]})"
    elif target_type.routes_endpoints:
        status = target_type.endpoint_status(facts.get(node.target_name), node.name)
        out |= {"health": status.health, "url": status.url}
        out["liveTraffic"] = dict(status.traffic) if status.url else None
    return out


def _plan(plan: Plan, graph: Graph) -> dict[str, Any]:
    return {
        "summary": summary_line(plan),
        "hasChanges": plan.has_changes,
        "markdown": render_markdown(plan),
        "changes": [
            {"resource": a.resource, "action": a.action, "reasons": list(a.reasons), "target": a.target}
            for a in plan.changes
        ],
        "scope": list(plan.scope.targets),
        "command": apply_command(Path(graph.root)) if plan.has_changes else None,
    }
