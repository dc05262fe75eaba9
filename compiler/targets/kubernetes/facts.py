"""The facts of a kubernetes target: the objects modelctl applied there, reduced to the fields
modelctl's field manager owns (server-side apply's `metadata.managedFields`), the fields other
managers took over, and each Deployment's rollout status.

Only what modelctl owns is kept, so server defaults, `status`, `resourceVersion` and what other
controllers add never reach a plan. `owned_fields(obj, fieldsV1)` does what client-go's
`ExtractInto` does: it walks the managed-fields trie (`f:` fields, `k:` list items by their keys,
`v:` set items, `i:` indexes) over the object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...digest import canonical_sha256
from ...plan.target import DeploymentStatus
from .connection import FIELD_MANAGER

RESOURCE = "modelctl.io/resource"
FINGERPRINT = "modelctl.io/fingerprint"
PREVENT_DESTROY = "modelctl.io/prevent-destroy"
TARGET = "modelctl.io/target"
WORKSPACE = "modelctl.io/workspace"
MANAGED_BY_KEY = "app.kubernetes.io/managed-by"
MANAGED_BY = "modelctl"


def selector(workspace: str, **extra: str) -> str:
    """The label selector of this workspace's objects (never anything else)."""
    return ",".join(
        [f"{MANAGED_BY_KEY}={MANAGED_BY}", f"{WORKSPACE}={workspace}", *(f"{k}={v}" for k, v in extra.items())]
    )


# --- managed fields --------------------------------------------------------------------------------


def _item_matches(item: Any, index: int, key: str) -> bool:
    if key.startswith("k:"):
        try:
            want = json.loads(key[2:])
        except ValueError:
            return False
        return isinstance(item, dict) and all(item.get(k) == v for k, v in want.items())
    if key.startswith("v:"):
        try:
            return bool(item == json.loads(key[2:]))
        except ValueError:
            return False
    if key.startswith("i:"):
        return key[2:] == str(index)
    return False


def owned_fields(value: Any, fields: Any) -> Any:
    """The part of `value` that the managed-fields trie `fields` (a FieldsV1 object) covers."""
    if not isinstance(fields, dict) or not fields:
        return value  # a leaf: the whole value is owned (a scalar, an atomic list or map)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in fields.items():
            if key.startswith("f:") and key[2:] in value:
                out[key[2:]] = owned_fields(value[key[2:]], sub)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for i, item in enumerate(value):
            for key, sub in fields.items():
                if key != "." and _item_matches(item, i, key):
                    items.append(owned_fields(item, sub))
                    break
        return items
    return value


def _identity(item: dict[str, Any], index: int) -> str:
    for key in ("name", "containerPort", "port", "type"):
        if key in item and not isinstance(item[key], dict | list):
            return str(item[key])
    return str(index)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf paths of an object: `spec.template.spec.containers[scorer].env[MODELCTL_PORT].value`.
    List items are named by their key (name, port), so a reordered list is not a change."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else k))
        return out
    if isinstance(value, list) and value and all(isinstance(i, dict) for i in value):
        out = {}
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{_identity(item, i)}]"))
        return out
    return {prefix: value}


SKIP_OTHER = ("status", "metadata.resourceVersion", "metadata.generation")


def _others(obj: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """(path, manager, value as JSON) of every field another manager owns (status left out)."""
    out: set[tuple[str, str, str]] = set()
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        manager = str(entry.get("manager", ""))
        if entry.get("subresource") == "status" or (manager == FIELD_MANAGER and entry.get("operation") == "Apply"):
            continue
        for path, value in flatten(owned_fields(obj, entry.get("fieldsV1") or {})).items():
            if path and not path.startswith(SKIP_OTHER):
                out.add((path, manager, json.dumps(value, sort_keys=True)))
    return tuple(sorted(out))


def _mine(obj: dict[str, Any]) -> dict[str, Any]:
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply" and not entry.get("subresource"):
            owned = owned_fields(obj, entry.get("fieldsV1") or {})
            return owned if isinstance(owned, dict) else {}
    return {}


# --- facts -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollout:
    """A Deployment's rollout, from its status (what `kubectl rollout status` looks at)."""

    generation: int
    observed_generation: int
    replicas: int  # spec.replicas as live (the autoscaler's, with autoscale)
    updated: int
    ready: int
    available: int
    total: int  # status.replicas: old and new pods
    failed: str | None = None  # "ProgressDeadlineExceeded: …" when the controller gave up
    conditions: tuple[str, ...] = ()  # "Available=True (MinimumReplicasAvailable)", as the controller set them

    @property
    def complete(self) -> bool:
        return (
            self.observed_generation >= self.generation
            and self.updated == self.replicas
            and self.available == self.replicas
            and self.total == self.replicas
        )

    @classmethod
    def of(cls, obj: dict[str, Any]) -> Rollout:
        status = obj.get("status") or {}
        failed = None
        for c in status.get("conditions") or []:
            if c.get("type") == "Progressing" and c.get("status") == "False":
                failed = f"{c.get('reason', '')}: {c.get('message', '')}".strip(": ")
        return cls(
            int((obj.get("metadata") or {}).get("generation") or 0),
            int(status.get("observedGeneration") or 0),
            int((obj.get("spec") or {}).get("replicas", 1)),
            int(status.get("updatedReplicas") or 0),
            int(status.get("readyReplicas") or 0),
            int(status.get("availableReplicas") or 0),
            int(status.get("replicas") or 0),
            failed,
            tuple(
                f"{c.get('type')}={c.get('status')}" + (f" ({c['reason']})" if c.get("reason") else "")
                for c in status.get("conditions") or []
            ),
        )


@dataclass(frozen=True)
class ObjectFact:
    """One object modelctl applied, as live: what modelctl owns, and what others took over."""

    kind: str
    name: str
    resource: str  # modelctl.io/resource: Deployment/<name> or Endpoint/<name>
    target: str
    owned: dict[str, Any]  # the object restricted to the fields modelctl's field manager owns
    others: tuple[tuple[str, str, str], ...] = ()  # (path, manager, value JSON) owned by other managers
    prevent_destroy: bool = False
    rollout: Rollout | None = None  # Deployments only

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectFact:
        meta = obj.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        labels = meta.get("labels") or {}
        return cls(
            obj["kind"],
            str(meta.get("name", "")),
            str(annotations.get(RESOURCE, "")),
            str(labels.get(TARGET, "")),
            _mine(obj),
            _others(obj),
            annotations.get(PREVENT_DESTROY) == "true",
            Rollout.of(obj) if obj["kind"] == "Deployment" else None,
        )

    @property
    def fingerprint(self) -> str:
        return str((self.owned.get("metadata") or {}).get("annotations", {}).get(FINGERPRINT, ""))

    def fingerprint_json(self) -> Any:
        others = [[p, m, v] for p, m, v in self.others if p != "spec.replicas"]  # an autoscaler's, not a plan's
        return [self.kind, self.name, canonical_sha256(self.owned), others, bool(self.rollout and self.rollout.failed)]


@dataclass(frozen=True)
class KubernetesFacts:
    """What one kubernetes target holds for this workspace (one LIST per kind in its namespace)."""

    namespace: str
    objects: tuple[ObjectFact, ...] = ()
    unserved: tuple[str, ...] = ()  # kinds whose API the cluster does not serve
    secrets: tuple[tuple[str, bool], ...] = ()  # (secret name, exists) of the secrets deployments in scope use

    def of(self, resource: str) -> list[ObjectFact]:
        return [o for o in self.objects if o.resource == resource]

    def find(self, kind: str, name: str) -> ObjectFact | None:
        return next((o for o in self.objects if o.kind == kind and o.name == name), None)

    def status(self, deployment: str) -> DeploymentStatus:
        found = self.find("Deployment", deployment)
        if found is None or found.rollout is None:
            return DeploymentStatus("missing")
        r = found.rollout
        text = f"{r.ready}/{r.replicas} ready"
        if r.failed:
            text += f", rollout failed ({r.failed.split(':', 1)[0]})"
        elif not r.complete:
            text += ", rolling out"
        return DeploymentStatus(text, conditions=r.conditions)

    def fingerprint(self) -> Any:
        return {
            "namespace": self.namespace,
            "objects": sorted(o.fingerprint_json() for o in self.objects),
            "secrets": [list(s) for s in self.secrets],
        }
