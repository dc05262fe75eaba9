"""The plan as a versioned JSON document (schemas/plan.json): written by `plan --out`, read by `apply`.

Never pickle: the document is plain JSON, validated against its schema when loaded, so a
hand-edited or truncated file is refused with a clear message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..atomic import atomic_write_text
from ..errors import PlanError
from .model import Action, FieldDiff, NotApplied, Plan, Scope, Stage, change_from_json

SCHEMA_VERSION: Final = 1  # Final: the literal types of PlanDocument's kind and schemaVersion
KIND: Final = "modelctl-plan"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiffDoc(_Doc):
    path: str
    before: Any = None
    after: Any = None


class ActionDoc(_Doc):
    resource: str = Field(pattern=r"^(Model|Image|Deployment|Endpoint)/[a-z0-9][a-z0-9-]*(@[a-z0-9-]+)?$")
    action: Literal["create", "update", "delete", "no-op"]
    reasons: list[str] = Field(default_factory=list)
    diffs: list[DiffDoc] = Field(default_factory=list)
    dependsOn: list[str] = Field(default_factory=list)
    target: str | None = None
    fingerprint: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    detail: dict[str, Any] = Field(default_factory=dict)


class NotAppliedDoc(_Doc):
    resource: str
    target: str
    reason: str


class ScopeDoc(_Doc):
    resources: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    prune: bool = True
    stage: str | None = None


class PlanDocument(_Doc):
    """A modelctl plan: what `apply` will do, against which live state."""

    kind: Literal["modelctl-plan"] = KIND
    schemaVersion: Literal[1] = SCHEMA_VERSION
    workspace: str
    root: str = Field(description="The repo the plan was made from (absolute path).")
    gitCommit: str | None = None
    gitBranch: str | None = None
    gitDirty: bool | None = Field(None, description="Uncommitted changes under the repo folder (null outside git).")
    createdAt: str | None = None
    liveStateFingerprint: str = Field(pattern=r"^[0-9a-f]{64}$")
    scope: ScopeDoc
    summary: dict[str, int]
    stages: list[list[str]]
    actions: list[ActionDoc]
    notApplied: list[NotAppliedDoc] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


def to_document(plan: Plan) -> dict:
    doc = PlanDocument(
        workspace=plan.workspace,
        root=plan.root,
        gitCommit=plan.git_commit,
        gitBranch=plan.git_branch,
        gitDirty=plan.git_dirty,
        createdAt=plan.created_at,
        liveStateFingerprint=plan.live_fingerprint,
        scope=ScopeDoc(
            resources=list(plan.scope.resources),
            targets=list(plan.scope.targets),
            prune=plan.scope.prune,
            stage=plan.scope.stage,
        ),
        summary=plan.counts(),
        stages=[list(s.resources) for s in plan.stages],
        actions=[
            ActionDoc(
                resource=a.resource,
                action=a.action,
                reasons=list(a.reasons),
                diffs=[DiffDoc(path=d.path, before=d.before, after=d.after) for d in a.diffs],
                dependsOn=list(a.depends_on),
                target=a.target,
                fingerprint=a.fingerprint,
                detail=a.detail,
            )
            for a in plan.actions
        ],
        notApplied=[NotAppliedDoc(resource=n.resource, target=n.target, reason=n.reason) for n in plan.not_applied],
        warnings=list(plan.warnings),
    )
    return doc.model_dump(mode="json")


def dumps(plan: Plan) -> str:
    return json.dumps(to_document(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def from_document(data: Any) -> Plan:
    if isinstance(data, dict) and data.get("schemaVersion") not in (None, SCHEMA_VERSION):
        raise PlanError(
            f"plan schemaVersion {data.get('schemaVersion')} is not supported by this modelctl "
            f"(it reads version {SCHEMA_VERSION}); make the plan again with this version"
        )
    try:
        doc = PlanDocument.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise PlanError(
            f"not a valid modelctl plan: {where}: {first['msg']} "
            f"({err.error_count()} problem{'s' * (err.error_count() != 1)})"
        ) from None
    actions = tuple(
        Action(
            a.resource,
            a.action,
            tuple(a.reasons),
            tuple(FieldDiff(d.path, d.before, d.after) for d in a.diffs),
            tuple(a.dependsOn),
            a.target,
            a.fingerprint,
            change_from_json(a.resource, a.action, a.detail),
        )
        for a in doc.actions
    )
    deletes = {a.resource for a in actions if a.action == "delete"}
    return Plan(
        workspace=doc.workspace,
        root=doc.root,
        scope=Scope(tuple(doc.scope.resources), tuple(doc.scope.targets), doc.scope.prune, doc.scope.stage),
        actions=actions,
        stages=tuple(Stage(tuple(s), deletes=bool(s) and set(s) <= deletes) for s in doc.stages),
        live_fingerprint=doc.liveStateFingerprint,
        not_applied=tuple(NotApplied(n.resource, n.target, n.reason) for n in doc.notApplied),
        git_commit=doc.gitCommit,
        created_at=doc.createdAt,
        warnings=tuple(doc.warnings),
        git_branch=doc.gitBranch,
        git_dirty=doc.gitDirty,
    )


def write_plan(plan: Plan, path: Path) -> None:
    atomic_write_text(Path(path), dumps(plan))


def read_plan(path: Path) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise PlanError(f"cannot read plan {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise PlanError(f"{path} is not JSON (not even text); pass a file written by 'modelctl plan --out'") from None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise PlanError(f"{path} is not JSON ({err}); pass a file written by 'modelctl plan --out'") from None
    return from_document(data)


def json_schema() -> dict:
    from ..schemas import DRAFT, SCHEMA_BASE_ID

    schema = PlanDocument.model_json_schema(mode="validation")
    return {"$schema": DRAFT, "$id": f"{SCHEMA_BASE_ID}plan.json", "title": "modelctl plan", **schema}


def _register() -> None:
    from .. import schemas

    schemas.register("plan", json_schema)


_register()
