"""Executing a plan: stages in dependency order, independent actions of a stage in parallel.

Only the plan's change actions run; each is recorded in the registry's apply history (who,
git commit, when, what, result). An action whose dependency failed is skipped, not run. Every
action is idempotent (register dedups by digest, builds hit the layer cache, a deployment reuses
a healthy container with its fingerprint), so an apply killed anywhere converges when re-run.
"""

from __future__ import annotations

import getpass
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from ..errors import ApplyError
from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, ModelNode
from ..registry.records import ModelVersion
from .deployments import deployment_spec_json
from .model import Action, DeploymentChange, ImageChange, ModelChange, Plan, Removal
from .refs import image_inputs
from .services import Services
from .target import Connection, DeployRequest, Progress, TargetTypes

MAX_PARALLEL = 4


@dataclass(frozen=True)
class ActionResult:
    resource: str
    action: str
    result: str  # "ok" | "failed" | "skipped"
    seconds: float
    message: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    run_id: str
    results: list[ActionResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.result == "ok" for r in self.results)

    @property
    def notes(self) -> list[str]:
        return [n for r in self.results for n in r.detail.get("notes", [])]


class Reporter(Protocol):
    def start(self, action: Action) -> Progress: ...
    def finish(self, result: ActionResult) -> None: ...


class SilentReporter:
    def start(self, action: Action) -> Progress:
        return lambda _text: None

    def finish(self, result: ActionResult) -> None:
        pass


def execute(
    plan: Plan,
    graph: Graph,
    services: Services,
    types: TargetTypes,
    *,
    reporter: Reporter | None = None,
    git_commit: str | None = None,
    user: str | None = None,
    lost: Callable[[], bool] = lambda: False,
    max_parallel: int = MAX_PARALLEL,
    git_branch: str | None = None,
    git_dirty: bool | None = None,
) -> Outcome:
    """git_branch/git_dirty go into every history row's detail (gitBranch, gitDirty)."""
    reporter = reporter or SilentReporter()
    git = {k: v for k, v in (("gitBranch", git_branch), ("gitDirty", git_dirty)) if v is not None}
    user = user or getpass.getuser()
    outcome = Outcome(run_id=uuid.uuid4().hex[:12])
    failed: set[str] = set()
    runner = _Runner(graph, services, types, plan)
    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="modelctl-apply") as pool:
        for stage in plan.stages:
            actions = [plan.action(rid) for rid in stage.resources]
            runnable: list[Action] = []
            futures = {}
            for a in actions:
                blocked = [d for d in a.depends_on if d in failed]
                if blocked or lost():
                    why = f"skipped: {', '.join(blocked)} failed" if blocked else "skipped: the lock was lost"
                    result = ActionResult(a.resource, a.action, "skipped", 0.0, why)
                    failed.add(a.resource)
                    _record(services, outcome, result, a, git_commit, user, None, git)
                    reporter.finish(result)
                    continue
                runnable.append(a)
            for a in runnable:
                progress = reporter.start(a)
                futures[a.resource] = (a, time.monotonic(), datetime.now(UTC), pool.submit(runner.run, a, progress))
            for rid, (a, t0, started, fut) in futures.items():
                try:
                    detail = fut.result() or {}
                    runner.done[rid] = detail
                    result = ActionResult(rid, a.action, "ok", time.monotonic() - t0, "", detail)
                except ApplyError as err:
                    result = ActionResult(rid, a.action, "failed", time.monotonic() - t0, str(err))
                except Exception as err:  # noqa: BLE001 - any failure is recorded, the run goes on
                    result = ActionResult(
                        rid, a.action, "failed", time.monotonic() - t0, f"{rid}: {type(err).__name__}: {err}"
                    )
                if result.result != "ok":
                    failed.add(rid)
                _record(services, outcome, result, a, git_commit, user, started, git)
                reporter.finish(result)
    return outcome


def _record(
    services: Services,
    outcome: Outcome,
    result: ActionResult,
    action: Action,
    git_commit: str | None,
    user: str,
    started: datetime | None,
    git: dict[str, Any] | None = None,
) -> None:
    outcome.results.append(result)
    detail = {
        "reasons": list(action.reasons),
        "seconds": round(result.seconds, 3),
        **(git or {}),
        **({"error": result.message[:4000]} if result.result != "ok" else {}),
        **{k: v for k, v in result.detail.items() if k != "notes"},
    }
    services.registry.record_action(
        outcome.run_id,
        action.resource,
        action.action,
        result.result,
        git_commit=git_commit,
        user=user,
        detail=detail,
        started_at=started,
    )


class _Runner:
    """Carries out one action at a time from what the plan holds (its typed change) and what earlier
    stages of this run returned (`done`: the versions they registered)."""

    def __init__(self, graph: Graph, services: Services, types: TargetTypes, plan: Plan) -> None:
        self.graph, self.services, self.types, self.plan = graph, services, types, plan
        self.root = Path(graph.root)
        self.done: dict[str, dict[str, Any]] = {}  # resource → result detail, filled between stages

    def run(self, action: Action, progress: Progress) -> dict[str, Any]:
        if isinstance(action.change, Removal):
            return self._delete(action, action.change, progress)
        node = self.graph.get(action.resource)
        if isinstance(node, ModelNode):
            return self._model(node, progress)
        if isinstance(node, ImageNode) and isinstance(action.change, ImageChange):
            return self._image(node, action.change, progress)
        if isinstance(node, DeploymentNode) and isinstance(action.change, DeploymentChange):
            return self._deployment(node, action.change, progress)
        if isinstance(node, EndpointNode):
            return self._endpoint(node, progress)
        raise ApplyError(f"{action.resource}: the plan holds nothing to do for this {action.action}")

    def _connection(self, resource: str, type_name: str) -> Connection:
        found = self.services.connections.get(type_name)
        if found is None:
            raise ApplyError(f"{resource}: {type_name} targets are not applied by this version")
        return found

    # --- models ------------------------------------------------------------------------------

    def _model(self, node: ModelNode, progress: Progress) -> dict[str, Any]:
        if node.artifact is None:
            raise ApplyError(f"{node.id}: a remote artifact is not registered by apply")
        progress("registering")
        sig = (
            node.spec.signature.model_dump(mode="json", by_alias=True, exclude_none=True)
            if node.spec.signature
            else None
        )
        model, created = self.services.registry.register_model(
            node.name,
            self.root / node.artifact.path,
            framework=node.spec.framework,
            tags=dict(node.metadata.tags),
            signature=sig,
            description=node.metadata.description,
            properties={"fingerprint": node.fingerprint},
        )
        return {"version": model.version, "created": created}

    def _model_version(self, model_id: str) -> int | None:
        """The version of a model registered by this run, else the plan's (the registry's latest)."""
        if model_id in self.done:
            return int(self.done[model_id]["version"])
        try:
            planned = self.plan.action(model_id).change
        except KeyError:
            return None
        return planned.version if isinstance(planned, ModelChange) else None

    # --- images ------------------------------------------------------------------------------

    def _image(self, node: ImageNode, change: ImageChange, progress: Progress) -> dict[str, Any]:
        reg = self.services.registry
        if node.spec.prebuilt:
            image, _ = reg.register_image(
                node.name,
                fingerprint=node.fingerprint,
                models=[],
                environment="prebuilt",
                image_ref=change.ref,
                properties={"prebuilt": node.spec.prebuilt},
            )
            return {"version": image.version, "ref": change.ref, "models": []}
        if self.services.builder is None:
            raise ApplyError(f"{node.id}: building needs a Docker engine, and none is configured")
        versions: dict[str, int] = {}
        pinned: dict[str, ModelVersion] = {}
        for use in node.models:
            version = self._model_version(use.model_id) if use.selector == "latest" else None
            if version is None or use.selector != "latest":  # a pin or an alias: the registry's record of it
                selector: int | str = int(use.selector) if use.selector.isdigit() else use.selector
                model = reg.get_model(use.name, selector)
                version = model.version
                if use.selector != "latest":
                    pinned[use.model_id] = model
            versions[use.model_id] = version
        with tempfile.TemporaryDirectory(prefix="modelctl-build-") as tmp:
            model_files = self._fetch_pinned(pinned, Path(tmp) / "pinned", progress)
            progress("rendering build context")
            from ..render import render_graph

            out = Path(tmp) / "render"
            render_graph(
                self.graph,
                out,
                types=self.types,
                only={node.id},
                model_versions={k: str(v) for k, v in versions.items()},
                model_files=model_files,
                cache=False,  # a fresh temp folder: nothing to keep, no record to leave behind
            )
            built = self.services.builder.build(
                out / "images" / node.name, change.ref, resource=node.id, progress=progress
            )
        progress("pushing")
        pushed = self.services.builder.push(built, progress=progress)
        env = self.graph.get(node.environment_id).name if node.environment_id else "none"
        models: list[tuple[str, int | str]] = [(self.graph.get(mid).name, v) for mid, v in versions.items()]
        image, _ = reg.register_image(
            node.name,
            fingerprint=node.fingerprint,
            models=models,
            environment=env,
            image_ref=pushed.pinned,
            properties={"tag": change.ref, "inputs": image_inputs(self.graph, node)},
        )
        return {
            "version": image.version,
            "ref": pushed.pinned,
            "cachedSteps": built.cached_steps,
            "steps": built.steps,
            "models": [list(m) for m in models],
        }

    def _fetch_pinned(
        self, pinned: dict[str, ModelVersion], folder: Path, progress: Progress
    ) -> dict[str, tuple[Path, str]]:
        """The registry's files of each pinned version (`iris@3`), digest-verified: what the image ships."""
        out = {}
        for model_id, model in sorted(pinned.items()):
            progress(f"fetching {model.name}@{model.version}")
            node = self.graph.get_as(model_id, ModelNode)
            leaf = PurePosixPath(node.artifact.path).name if node.artifact else model.name
            dest = folder / model.name / str(model.version)
            if model.kind == "file":
                [path] = self.services.registry.materialize_model(model.name, model.version, dest)
            else:
                self.services.registry.materialize_model(model.name, model.version, dest / leaf)
                path = dest / leaf
            out[model_id] = (path, model.digest)
        return out

    # --- deployments -------------------------------------------------------------------------

    def _image_of(self, node: DeploymentNode) -> tuple[ImageNode, int, list[list[Any]]]:
        """The deployment's image, its registered version and models: built by this run, else the plan's."""
        image = self.graph.get_as(node.image_id, ImageNode)
        if image.id in self.done:
            built = self.done[image.id]
            return image, int(built["version"]), list(built.get("models") or [])
        try:
            planned = self.plan.action(image.id).change
        except KeyError:  # the image is not in the plan's scope
            planned = None
        if not isinstance(planned, ImageChange) or not planned.version:
            raise ApplyError(
                f"Image/{image.name} is not registered yet; apply it first (modelctl apply --target Image/{image.name})"
            )
        return image, planned.version, [list(m) for m in planned.models]

    def _deployment(self, node: DeploymentNode, change: DeploymentChange, progress: Progress) -> dict[str, Any]:
        target_type = self.types[node.target.type]
        connection = self._connection(node.id, node.target.type)
        image, version, models = self._image_of(node)
        request = DeployRequest(
            workspace=self.graph.workspace.name,
            root=self.root,
            resource=node.id,
            name=node.name,
            target_name=node.target_name,
            target=node.target,
            fingerprint=node.fingerprint,
            image_ref=change.ref,
            image_name=image.name,
            image_port=image.spec.port,
            spec=node.spec,
            spec_json=deployment_spec_json(node),
        )
        if target_type.publishes:
            with tempfile.TemporaryDirectory(prefix="modelctl-publish-") as tmp:
                rendered = self._render_deployment(node, models, Path(tmp), progress)
                result = connection.deploy(replace(request, rendered=rendered), progress=progress)
        else:
            result = connection.deploy(request, progress=progress)
        self.services.registry.record_deployment(
            node.name, node.target_name, image.name, version, result.url, node.fingerprint
        )
        return {
            "url": result.url,
            "container": result.container,
            "image": image.name,
            "imageVersion": version,
            "models": models,
            "target": node.target_name,
            # what `modelctl rollback` needs to run this revision again (docker reads its revisions here)
            "fingerprint": node.fingerprint,
            "ref": change.ref,
            "imagePort": image.spec.port,
            "spec": request.spec_json,
            "notes": list(result.notes),
        }

    def _render_deployment(self, node: DeploymentNode, models: list[list[Any]], tmp: Path, progress: Progress) -> Path:
        """The deployment's own artifacts (an edge bundle, an accelerator config; not its image's build
        context), rendered with the image's model versions."""
        from ..render.publish import publish
        from ..render.render import build_tree
        from ..render.templating import Templates

        progress("rendering")
        tree, _ = build_tree(
            self.graph, [node.id], {f"Model/{m}": str(v) for m, v in models}, Templates(), types=self.types
        )
        publish(tree, tmp / "render")
        return tmp / "render" / node.target.type / node.name

    def _endpoint(self, node: EndpointNode, progress: Progress) -> dict[str, Any]:
        if not self.types[node.target.type].routes_endpoints:
            raise ApplyError(f"{node.id}: endpoints on {node.target.type} targets are not applied by this version")
        connection = self._connection(node.id, node.target.type)
        url = connection.route_endpoint(
            node.target_name,
            node.target,
            node.name,
            dict(node.spec.traffic),
            node.spec.path,
            node.fingerprint,
            progress=progress,
        )
        return {"url": url, "traffic": dict(sorted(node.spec.traffic.items())), "target": node.target_name}

    def _delete(self, action: Action, removal: Removal, progress: Progress) -> dict[str, Any]:
        from ..registry import NotFound

        target_name = action.target or ""
        target_spec = self.graph.workspace.spec.targets.get(target_name)
        if target_spec is None:
            raise ApplyError(
                f"{action.resource}: target {target_name!r} is no longer in the Workspace; "
                "remove its containers by hand (they carry the label modelctl.io/target)"
            )
        connection = self._connection(action.resource, target_spec.type)
        if removal.endpoint:
            connection.delete_endpoint(target_name, target_spec, removal.name, progress=progress)
            return {}
        connection.delete(target_name, target_spec, removal.name, progress=progress)
        try:
            self.services.registry.remove_deployment(removal.name, target_name)
        except NotFound:
            pass
        return {}
