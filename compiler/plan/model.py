"""The plan as frozen data: typed actions with field-level diffs and reasons, in dependency order.

A Plan is computed by `diff.make_plan` from the graph and a `LiveState`; it is serialised by
`document`, described by `explain` and executed by `apply`. Each action carries a typed `change`
(what the executor needs: the image reference, the predicted versions, the names to delete), so
the executor never re-derives what the planner decided. It never holds a secret value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

ActionKind = Literal["create", "update", "delete", "no-op"]
CHANGE_KINDS: tuple[ActionKind, ...] = ("create", "update", "delete")
ModelVersion = Union[int, str, None]  # a number; a selector such as "latest" or an alias; None: not known yet


@dataclass(frozen=True)
class FieldDiff:
    path: str  # "spec.resources.memory", "image", "artifact.digest"
    before: Any  # JSON value; None when absent
    after: Any


@dataclass(frozen=True)
class ModelChange:
    version: int | None  # the version apply registers (or the registry has, for a no-op)
    digest: str | None
    framework: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "digest": self.digest}
        if self.framework is not None:
            out["framework"] = self.framework
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelChange:
        return cls(d.get("version"), d.get("digest"), d.get("framework"))


@dataclass(frozen=True)
class ImageChange:
    ref: str  # what the image is tagged (pinned by digest once pushed)
    models: tuple[tuple[str, ModelVersion], ...]  # (model, version) it contains
    version: int  # the image version apply registers (or the registry has)

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "models": [list(m) for m in self.models], "version": self.version}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ImageChange:
        return cls(
            str(d.get("ref", "")), tuple((str(m), v) for m, v in d.get("models") or ()), int(d.get("version") or 0)
        )


@dataclass(frozen=True)
class DeploymentChange:
    image: str  # the Image it runs
    ref: str  # the image reference deployed
    url: str | None = None  # where it answers now (None: not yet)
    port: int | None = None  # the stable port (targets with a router)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.image, "ref": self.ref, "url": self.url}
        if self.port is not None:
            out["port"] = self.port
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DeploymentChange:
        return cls(str(d.get("image", "")), str(d.get("ref", "")), d.get("url"), d.get("port"))


@dataclass(frozen=True)
class EndpointChange:
    traffic: tuple[tuple[str, int], ...]  # (deployment, percent), sorted
    path: str
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"traffic": dict(self.traffic), "path": self.path, "url": self.url}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EndpointChange:
        return cls(
            tuple(sorted((str(k), int(v)) for k, v in (d.get("traffic") or {}).items())),
            str(d.get("path", "/")),
            d.get("url"),
        )


@dataclass(frozen=True)
class Removal:
    """A deployment or endpoint gone from git: what the target removes."""

    name: str
    endpoint: bool = False
    containers: tuple[str, ...] = ()  # a deployment's containers, where the target runs containers
    published: str | None = None  # where its bundle was published, for publishing targets

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.endpoint:
            out["endpoint"] = True
        elif self.published is not None:
            out["published"] = self.published
        else:
            out["containers"] = list(self.containers)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Removal:
        return cls(
            str(d.get("name", "")), bool(d.get("endpoint", False)), tuple(d.get("containers") or ()), d.get("published")
        )


Change = Union[ModelChange, ImageChange, DeploymentChange, EndpointChange, Removal]
_CHANGE_BY_KIND: dict[str, type[ModelChange] | type[ImageChange] | type[DeploymentChange] | type[EndpointChange]] = {
    "Model": ModelChange,
    "Image": ImageChange,
    "Deployment": DeploymentChange,
    "Endpoint": EndpointChange,
}


def change_from_json(resource: str, action: str, detail: dict[str, Any]) -> Change | None:
    """The typed change of a plan document's action (its `detail` object)."""
    if not detail:
        return None
    if action == "delete":
        return Removal.from_json(detail)
    cls = _CHANGE_BY_KIND.get(resource.split("/", 1)[0])
    return cls.from_json(detail) if cls else None


@dataclass(frozen=True)
class Action:
    resource: str  # "Deployment/iris-local"
    action: ActionKind
    reasons: tuple[str, ...] = ()
    diffs: tuple[FieldDiff, ...] = ()
    depends_on: tuple[str, ...] = ()  # resources whose actions must finish first
    target: str | None = None  # deployment target name (Deployment and Endpoint actions)
    fingerprint: str | None = None  # desired fingerprint (None for delete)
    change: Change | None = None  # what the executor needs, typed by kind

    @property
    def kind(self) -> str:
        return self.resource.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.resource.split("/", 1)[1]

    @property
    def is_change(self) -> bool:
        return self.action in CHANGE_KINDS

    @property
    def detail(self) -> dict[str, Any]:
        """The change as the plan document's JSON object."""
        return self.change.to_json() if self.change is not None else {}


@dataclass(frozen=True)
class NotApplied:
    """A resource this version plans but does not apply (rendered only): shown, never skipped silently."""

    resource: str
    target: str
    reason: str


@dataclass(frozen=True)
class Scope:
    """What the plan covers; apply re-reads live state with the same scope."""

    resources: tuple[str, ...] = ()  # --target KIND/NAME (empty: everything)
    targets: tuple[str, ...] = ()  # --targets NAME|TYPE (empty: every target)
    prune: bool = True
    stage: str | None = None


@dataclass(frozen=True)
class Stage:
    """Changes that may run together (in parallel); a stage starts when the one before it finished."""

    resources: tuple[str, ...]
    deletes: bool = False  # the last stage: removals, after everything new is in place


@dataclass(frozen=True)
class Plan:
    workspace: str
    root: str
    scope: Scope
    actions: tuple[Action, ...]  # dependency order, no-ops included
    stages: tuple[Stage, ...]  # changed resources per stage
    live_fingerprint: str
    not_applied: tuple[NotApplied, ...] = ()
    git_commit: str | None = None
    created_at: str | None = None
    warnings: tuple[str, ...] = field(default=())  # validation warnings of the repo the plan was made from
    git_branch: str | None = None
    git_dirty: bool | None = None  # None: not made from a git checkout

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.is_change]

    @property
    def has_changes(self) -> bool:
        return any(a.is_change for a in self.actions)

    def action(self, resource: str) -> Action:
        for a in self.actions:
            if a.resource == resource:
                return a
        raise KeyError(resource)

    def counts(self) -> dict[str, int]:
        """Terraform's summary."""
        add = sum(a.action == "create" for a in self.actions)
        change = sum(a.action == "update" for a in self.actions)
        destroy = sum(a.action == "delete" for a in self.actions)
        return {"add": add, "change": change, "destroy": destroy}
