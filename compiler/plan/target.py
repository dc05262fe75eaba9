"""The target-type interface: everything the pipeline needs from one kind of target.

A target type (docker, edge, fpga, kubernetes…) is one package under `compiler/targets/`
implementing `TargetType`, plus one entry in `compiler.targets.TARGET_TYPES`. It keeps together,
as pyinfra does with facts and operations:

- **facts**: `connect(...)` opens its backends; `Connection.read_facts(...)` reads what runs, typed,
  one `TargetFacts` per target name (each with its part of the live-state fingerprint);
- **planning**: pure functions from spec + facts to actions (`plan_deployment`, `plan_endpoint`,
  `running` for prune);
- **render**: `render_deployment` / `render_endpoint` write the target's artifacts into a tree;
- **checks**: `check(...)` adds the target's own validation rules;
- **execution**: `Connection.deploy / delete / route_endpoint / delete_endpoint`, and `teardown`
  (`modelctl destroy`: what `infrastructure` lists), with the capabilities declared (`applies`,
  `routes_endpoints`, `publishes`, `rolls_back`), never probed;
- **rollback** (`rolls_back`): `revisions` lists what a deployment ran or published before,
  `rollback` puts one of them back, marked with a `RollbackMark` that `rollback_mark` reads back
  from the facts (see docs/rollback.md).

The planner (`plan/`) depends on this module only; it never imports a concrete target.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..errors import ApplyError, PlanError
from .model import Action, FieldDiff, Removal

if TYPE_CHECKING:
    from ..diagnostics import Diagnostic
    from ..graph import DeploymentNode, EndpointNode, Graph, Node
    from ..render.tree import OutputTree
    from ..spec.deployment import DeploymentSpec
    from ..spec.workspace import Target
    from .state import LiveState

Progress = Callable[[str], None]  # "building step 3/12", shown beside the action
Diagnose = Callable[..., "Diagnostic"]  # (node, field path, message, **Diagnostic fields) → a located Diagnostic


class TargetFacts(Protocol):
    """What one target runs, read back from it (read-only, frozen)."""

    def fingerprint(self) -> Any:
        """A JSON value of everything a plan depends on (no health, no timestamps)."""
        ...


@dataclass(frozen=True)
class FactsRequest:
    """What to read from the targets of one type: their settings and the deployments in scope."""

    workspace: str
    root: Path
    targets: tuple[tuple[str, Target], ...]  # (target name, the Workspace's settings for it)
    deployments: tuple[DeploymentNode, ...] = ()  # in scope, on these targets
    endpoints: tuple[EndpointNode, ...] = ()  # in scope, on these targets


@dataclass(frozen=True)
class PlanContext:
    """Read-only inputs of a target's planning functions."""

    graph: Graph
    live: LiveState
    actions: Mapping[str, Action]  # actions planned so far (models and images come first)
    explicit: frozenset[str] = frozenset()  # resources named with --target (prune only those)

    def facts(self, target_name: str) -> TargetFacts | None:
        """The target's facts (None: nothing read, e.g. the target runs nothing yet)."""
        return self.live.targets.get(target_name)


@dataclass(frozen=True)
class DeployRequest:
    """Everything a target needs to run one deployment; secrets by name only."""

    workspace: str
    root: Path
    resource: str
    name: str
    target_name: str
    target: Target  # the Workspace's settings of the target (e.g. DockerTarget)
    fingerprint: str
    image_ref: str
    image_name: str
    image_port: int
    spec: DeploymentSpec  # the deployment's spec, of the target type's spec class
    spec_json: dict[str, Any] = field(default_factory=dict)
    rendered: Path | None = None  # targets that publish: the deployment's rendered folder
    rollback: RollbackMark | None = None  # set by `modelctl rollback`: kept on what it starts


@dataclass(frozen=True)
class DeployResult:
    url: str
    container: str
    notes: tuple[str, ...] = ()  # e.g. "generated API key in .modelctl/secrets/iris-keys"


class Connection(Protocol):
    """A target type's open backends (engines, clients) for one command: reads facts, carries out actions."""

    def read_facts(self, request: FactsRequest) -> dict[str, TargetFacts]: ...

    def deploy(self, request: DeployRequest, *, progress: Progress) -> DeployResult: ...

    def delete(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None: ...

    def route_endpoint(
        self,
        target_name: str,
        target: Target,
        name: str,
        traffic: dict[str, int],
        path: str,
        fingerprint: str,
        *,
        progress: Progress,
    ) -> str: ...

    def delete_endpoint(self, target_name: str, target: Target, name: str, *, progress: Progress) -> None: ...

    def teardown(self, target_name: str, target: Target, *, progress: Progress) -> None:
        """Remove what the target runs for the workspace besides its deployments and endpoints (what
        `TargetType.infrastructure` lists, e.g. docker's router): `modelctl destroy`, once they are gone."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ConnectOptions:
    """What a connection may need from the workspace."""

    workspace: str
    root: Path
    base_images: Mapping[str, str] = field(default_factory=dict)
    force_conflicts: bool = False  # apply --force-conflicts: take over fields other managers own (kubernetes)
    graph: Graph | None = None  # the compiled repo (kubernetes builds the objects it applies from it)


@dataclass(frozen=True)
class DeploymentStatus:
    """How a deployment is doing on its target, from the target's facts (`deployments list`)."""

    health: str  # healthy | starting | 2/3 running | missing | published | changed by hand | …
    containers: tuple[str, ...] = ()  # every replica serving it, in order (targets that run containers)
    conditions: tuple[str, ...] = ()  # the target's own conditions, e.g. "Available=True (MinimumReplicasAvailable)"


@dataclass(frozen=True)
class Activity:
    """One replica's recent activity: where it comes from ("container …", "pod …") and its last lines."""

    source: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointStatus:
    """How an endpoint is doing on its target, from the target's facts (`endpoints list/status`)."""

    health: str  # healthy | degraded (…) | router down | missing | …
    url: str | None = None
    traffic: tuple[tuple[str, int], ...] = ()  # (deployment, percent) as the target routes it now


@dataclass(frozen=True)
class RollbackMark:
    """What `modelctl rollback` leaves on the target beside the revision it put back: git wanted
    `from_fingerprint` (and ran it), the target now serves `to_fingerprint`, since `at`, by `by`."""

    from_fingerprint: str
    to_fingerprint: str
    at: str  # ISO 8601, UTC
    by: str
    run_id: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "from": self.from_fingerprint,
            "to": self.to_fingerprint,
            "at": self.at,
            "by": self.by,
            "run": self.run_id,
        }

    @classmethod
    def from_json(cls, raw: object) -> RollbackMark | None:
        """The mark as written by to_json; None for anything else (a missing or damaged mark)."""
        if not isinstance(raw, Mapping) or not all(isinstance(raw.get(k), str) for k in ("from", "to", "at", "by")):
            return None
        return cls(raw["from"], raw["to"], raw["at"], raw["by"], str(raw.get("run") or ""))


@dataclass(frozen=True)
class Revision:
    """A version of a deployment that ran (docker) or was published (edge, fpga) and can be put back."""

    fingerprint: str
    image: str
    image_ref: str
    spec: Mapping[str, Any]  # the deployment spec it ran with (JSON; secret names only)
    image_version: int | None = None
    image_port: int | None = None
    at: str | None = None  # when it was first deployed or published (ISO 8601)
    by: str | None = None
    commit: str | None = None
    where: str | None = None  # a published revision: its folder or OCI reference
    current: bool = False  # what the target serves now

    @property
    def id(self) -> str:
        """What `modelctl rollback --to` takes (any unique prefix of the fingerprint works too)."""
        return self.fingerprint[:REVISION_ID_LEN]


REVISION_ID_LEN = 12


@dataclass(frozen=True)
class RevisionsRequest:
    """A deployment's revisions: the target's settings, its facts, and what the registry's history
    recorded of it (newest first; docker reads its revisions from there)."""

    workspace: str
    root: Path
    target_name: str
    target: Target
    deployment: str
    facts: TargetFacts | None
    recorded: tuple[Revision, ...] = ()


@dataclass(frozen=True)
class RollbackRequest:
    """Put `revision` back for a deployment; `mark` says so on the target."""

    deploy: DeployRequest  # the deployment as git has it (names, target, settings)
    revision: Revision
    mark: RollbackMark


class TargetType:
    """The base of every target type. The defaults describe a render-only type."""

    name: str = ""
    applies: bool = False  # plan/apply manage its deployments (False: render only)
    routes_endpoints: bool = False  # plan/apply manage endpoints on it
    publishes: bool = False  # deploy() gets the deployment's rendered folder (bundles, configs)
    has_autoscaler: bool = False  # spec.autoscale drives its replica count (replicas are then not drift)
    serves_http: bool = False  # a deployment answers HTTP at its recorded URL (readiness, monitor)
    rolls_back: bool = False  # `modelctl rollback` can put an earlier revision of a deployment back

    def status(self, facts: TargetFacts | None, deployment: str) -> DeploymentStatus:
        return DeploymentStatus("-")

    def endpoint_status(self, facts: TargetFacts | None, endpoint: str) -> EndpointStatus:
        """The endpoint's URL, live split and health (types that route endpoints override it)."""
        return EndpointStatus("not applied (render only)" if not self.routes_endpoints else "-")

    def expected_differences(
        self, facts: TargetFacts | None, deployment: str, spec: Mapping[str, Any]
    ) -> list[tuple[FieldDiff, str]]:
        """Live fields that differ from git on purpose, each with its owner (an autoscaler's replica
        count): never planned, reported by drift as expected. spec: the desired spec as JSON."""
        return []

    def connect(self, options: ConnectOptions) -> Connection:
        raise ApplyError(f"{self.name} targets are not applied by this version")

    # --- rollback ----------------------------------------------------------------------------

    def rollback_mark(self, facts: TargetFacts | None, deployment: str) -> RollbackMark | None:
        """The rollback mark on what the target serves now for the deployment (None: not rolled back)."""
        return None

    def revisions(self, connection: Connection, request: RevisionsRequest) -> list[Revision]:
        """Every revision of the deployment that can be put back, newest first, the current one marked."""
        raise ApplyError(f"{self.name} targets keep no revisions to roll back to")

    def rollback(self, connection: Connection, request: RollbackRequest, *, progress: Progress) -> DeployResult:
        raise ApplyError(f"{request.deploy.resource}: {self.name} targets cannot be rolled back by modelctl")

    # --- planning: pure ----------------------------------------------------------------------

    def plan_deployment(self, ctx: PlanContext, node: DeploymentNode) -> Action:
        raise PlanError(f"{node.id}: {self.name} targets are not planned by this version")

    def plan_endpoint(self, ctx: PlanContext, node: EndpointNode) -> Action:
        raise PlanError(f"{node.id}: endpoints on {self.name} targets are not planned by this version")

    def running(self, ctx: PlanContext, target_name: str) -> list[Running]:
        """Every deployment and endpoint the target runs for this workspace (the planner prunes those
        git no longer wants)."""
        return []

    def infrastructure(self, workspace: str, target_name: str, facts: TargetFacts | None) -> tuple[str, ...]:
        """What the target runs for this workspace besides its deployments and endpoints (a router, its
        volume), one line each: `modelctl destroy` shows it and removes it with `Connection.teardown`."""
        return ()

    def kept_by_destroy(self, workspace: str, target_name: str, target: Target) -> tuple[str, ...]:
        """What `modelctl destroy` leaves on the target on purpose (collected data…), each with how to
        remove it too."""
        return ()

    def collected_data(self, workspace: str, node: DeploymentNode) -> Path | None:
        """The folder on this host where the deployment's collected inputs/outputs land (None: not here)."""
        return None

    def recent_activity(
        self, connection: Connection, target_name: str, target: Target, deployment: str, tail: int = 50
    ) -> list[Activity]:
        """What the target says lately about each replica of a deployment (container logs; pod
        conditions and events): the dashboard's details. Read-only; empty for types that run nothing."""
        return []

    def owned_paths(self, root: Path, target_name: str, target: Target) -> tuple[Path, ...]:
        """Folders of the repo this target writes into (apply's own output: never a dirty work tree)."""
        return ()

    # --- render and validate -----------------------------------------------------------------

    def render_deployment(
        self, graph: Graph, node: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str]
    ) -> int:
        """Write the deployment's artifacts into tree; returns the number of objects rendered."""
        return 0

    def render_endpoint(self, graph: Graph, node: EndpointNode, tree: OutputTree) -> int:
        return 0

    def check(
        self,
        nodes: Mapping[str, Node],
        deployments: list[DeploymentNode],
        endpoints: list[EndpointNode],
        diagnose: Diagnose,
    ) -> list[Diagnostic]:
        """The target's own rules over its deployments and endpoints (file:line:col diagnostics made
        with `diagnose(node, field path, message, code=…, expected=…, suggestion=…)`)."""
        return []

    # TLS: where a `tls.secretRef` secret lives, and the names its certificate must cover
    tls_secret_local: bool = False  # read from `.modelctl/secrets/<name>/` by apply (else: in the cluster/device)

    def tls_hostnames(self, node: DeploymentNode | EndpointNode) -> tuple[str, ...]:
        """The names clients reach the deployment or endpoint by, which its certificate must cover."""
        return tuple(getattr(node.spec, "hostnames", ()))  # an Endpoint's; a Deployment has none


@dataclass(frozen=True)
class Running:
    """A deployment or endpoint found on a target, and what deleting it removes."""

    kind: Literal["Deployment", "Endpoint"]
    removal: Removal
    gone: FieldDiff  # shown in the plan: what disappears (containers, a published folder, a port)
    protected: bool = False  # deployed with lifecycle.preventDestroy


TargetTypes = Mapping[str, TargetType]
