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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Protocol

from ..graph import DeploymentNode, EndpointNode, Graph, ImageNode, ModelNode
from ..targets.base import DeployRequest, DeploymentTarget, ImageBuilder, Progress, RegistryWriter
from .diff import deployment_spec_json
from .errors import ApplyError
from .model import Action, Plan
from .scope import PUBLISH_TARGET_TYPES

MAX_PARALLEL = 4


@dataclass(frozen=True)
class ActionResult:
    resource: str
    action: str
    result: str            # "ok" | "failed" | "skipped"
    seconds: float
    message: str = ""
    detail: dict = field(default_factory=dict)


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


@dataclass
class Services:
    """Everything apply writes through (a test wraps these to count write calls)."""
    registry: RegistryWriter
    builder: ImageBuilder | None = None
    targets: dict[str, DeploymentTarget] = field(default_factory=dict)  # by target type


def execute(plan: Plan, graph: Graph, services: Services, *, reporter: Reporter | None = None,
            git_commit: str | None = None, user: str | None = None, lost: Callable[[], bool] = lambda: False,
            max_parallel: int = MAX_PARALLEL, git_branch: str | None = None,
            git_dirty: bool | None = None) -> Outcome:
    """git_branch/git_dirty go into every history row's detail (gitBranch, gitDirty)."""
    reporter = reporter or SilentReporter()
    git = {k: v for k, v in (("gitBranch", git_branch), ("gitDirty", git_dirty)) if v is not None}
    user = user or getpass.getuser()
    outcome = Outcome(run_id=uuid.uuid4().hex[:12])
    failed: set[str] = set()
    runner = _Runner(graph, services)
    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="modelctl-apply") as pool:
        for stage in plan.stages:
            actions = [plan.action(rid) for rid in stage]
            runnable, futures = [], {}
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
                futures[a.resource] = (a, time.monotonic(), datetime.now(UTC),
                                       pool.submit(runner.run, a, progress))
            for rid, (a, t0, started, fut) in futures.items():
                try:
                    detail = fut.result() or {}
                    result = ActionResult(rid, a.action, "ok", time.monotonic() - t0, "", detail)
                except ApplyError as err:
                    result = ActionResult(rid, a.action, "failed", time.monotonic() - t0, str(err))
                except Exception as err:  # noqa: BLE001 - any failure is recorded, the run goes on
                    result = ActionResult(rid, a.action, "failed", time.monotonic() - t0,
                                          f"{rid}: {type(err).__name__}: {err}")
                if result.result != "ok":
                    failed.add(rid)
                _record(services, outcome, result, a, git_commit, user, started, git)
                reporter.finish(result)
    return outcome


def _record(services: Services, outcome: Outcome, result: ActionResult, action: Action, git_commit: str | None,
            user: str, started: datetime | None, git: dict | None = None) -> None:
    outcome.results.append(result)
    detail = {"reasons": list(action.reasons), "seconds": round(result.seconds, 3), **(git or {}),
              **({"error": result.message[:4000]} if result.result != "ok" else {}),
              **{k: v for k, v in result.detail.items() if k != "notes"}}
    services.registry.record_action(outcome.run_id, action.resource, action.action, result.result,
                                    git_commit=git_commit, user=user, detail=detail, started_at=started)


class _Runner:
    def __init__(self, graph: Graph, services: Services) -> None:
        self.graph, self.services = graph, services
        self.root = Path(graph.root)

    def run(self, action: Action, progress: Progress) -> dict[str, Any]:
        if action.action == "delete":
            return self._delete(action, progress)
        node = self.graph.get(action.resource)
        if isinstance(node, ModelNode):
            return self._model(node, progress)
        if isinstance(node, ImageNode):
            return self._image(node, action, progress)
        if isinstance(node, DeploymentNode):
            return self._deployment(node, action, progress)
        if isinstance(node, EndpointNode):
            return self._endpoint(node, progress)
        raise ApplyError(f"{action.resource}: nothing to do for a {node.kind}")

    # --- models ------------------------------------------------------------------------------

    def _model(self, node: ModelNode, progress: Progress) -> dict[str, Any]:
        if node.artifact is None:
            raise ApplyError(f"{node.id}: a remote artifact is not registered by apply")
        progress("registering")
        sig = node.spec.signature.model_dump(mode="json", by_alias=True) if node.spec.signature else None
        model, created = self.services.registry.register_model(
            node.name, self.root / node.artifact.path, framework=node.spec.framework, tags=dict(node.metadata.tags),
            signature=sig, description=node.metadata.description, properties={"fingerprint": node.fingerprint})
        return {"version": model.version, "created": created}

    # --- images ------------------------------------------------------------------------------

    def _image(self, node: ImageNode, action: Action, progress: Progress) -> dict[str, Any]:
        reg = self.services.registry
        if node.spec.prebuilt:
            ref = action.get("ref")
            image, _ = reg.register_image(node.name, fingerprint=node.fingerprint, models=[], environment="prebuilt",
                                          image_ref=ref, properties={"prebuilt": node.spec.prebuilt})
            return {"version": image.version, "ref": ref}
        if self.services.builder is None:
            raise ApplyError(f"{node.id}: building needs a Docker engine, and none is configured")
        versions, pinned = {}, {}
        for use in node.models:
            selector: Any = int(use.selector) if use.selector.isdigit() else use.selector
            model = reg.get_model(use.name, selector)
            versions[use.model_id] = model.version
            if use.selector != "latest":
                pinned[use.model_id] = model
        ref = action.get("ref")
        with tempfile.TemporaryDirectory(prefix="modelctl-build-") as tmp:
            model_files = self._fetch_pinned(pinned, Path(tmp) / "pinned", progress)
            progress("rendering build context")
            from ..render import render_graph
            out = Path(tmp) / "render"
            render_graph(self.graph, out, only={node.id}, model_versions={k: str(v) for k, v in versions.items()},
                         model_files=model_files)
            built = self.services.builder.build(out / "images" / node.name, ref, resource=node.id, progress=progress)
        progress("pushing")
        pushed = self.services.builder.push(built, progress=progress)
        env = self.graph.get(node.environment_id).name if node.environment_id else "none"
        image, _ = reg.register_image(node.name, fingerprint=node.fingerprint,
                                      models=[(self.graph.get(mid).name, v) for mid, v in versions.items()],
                                      environment=env, image_ref=pushed.pinned, properties={"tag": ref})
        return {"version": image.version, "ref": pushed.pinned, "cachedSteps": built.cached_steps, "steps": built.steps}

    def _fetch_pinned(self, pinned: dict[str, Any], folder: Path, progress: Progress) -> dict[str, tuple[Path, str]]:
        """The registry's files of each pinned version (`iris@3`), digest-verified: what the image ships."""
        out = {}
        for model_id, model in sorted(pinned.items()):
            progress(f"fetching {model.name}@{model.version}")
            node = self.graph.get(model_id)
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

    def _deployment(self, node: DeploymentNode, action: Action, progress: Progress) -> dict[str, Any]:
        target = self.services.targets.get(node.target.type)
        if target is None:
            raise ApplyError(f"{node.id}: {node.target.type} targets are not applied by this version")
        image = self.graph.get(node.image_id)
        version = self._image_version(image)
        request = DeployRequest(
            workspace=self.graph.workspace.name, root=self.root, resource=node.id, name=node.name,
            target_name=node.target_name, target=node.target, fingerprint=node.fingerprint,
            image_ref=action.get("ref"), image_name=image.name, image_port=image.spec.port, spec=node.spec,
            spec_json=deployment_spec_json(node))
        if node.target.type in PUBLISH_TARGET_TYPES:
            with tempfile.TemporaryDirectory(prefix="modelctl-publish-") as tmp:
                rendered = self._render_bundle(node, image, version, Path(tmp), progress)
                result = target.deploy(replace(request, rendered=rendered), progress=progress)
        else:
            result = target.deploy(request, progress=progress)
        self.services.registry.record_deployment(node.name, node.target_name, image.name, version, result.url,
                                                 node.fingerprint)
        models = [[m, int(v)] for m, v in self.services.registry.get_image(image.name, version).models]
        return {"url": result.url, "container": result.container, "image": image.name, "imageVersion": version,
                "models": models, "target": node.target_name, "notes": list(result.notes)}

    def _render_bundle(self, node: DeploymentNode, image: ImageNode, version: int, tmp: Path,
                       progress: Progress) -> Path:
        """The deployment's edge bundle / accelerator config (only it, not its image's build context),
        rendered with the registry's model versions."""
        from ..render.publish import publish
        from ..render.render import build_tree
        from ..render.templating import Templates
        progress("rendering")
        models = self.services.registry.get_image(image.name, version).models
        tree, _ = build_tree(self.graph, [node.id], {f"Model/{m}": str(v) for m, v in models}, Templates())
        publish(tree, tmp / "render")
        return tmp / "render" / node.target.type / node.name

    def _image_version(self, image: ImageNode) -> int:
        from ..registry import NotFound
        reg = self.services.registry
        try:
            latest = reg.get_image(image.name, "latest")
        except NotFound:
            raise ApplyError(f"Image/{image.name} is not registered yet; apply it first "
                             f"(modelctl apply --target Image/{image.name})") from None
        if latest.fingerprint == image.fingerprint:
            return latest.version
        earlier = reg.find_image(image.name, image.fingerprint)
        if earlier is not None:
            return earlier.version
        raise ApplyError(f"Image/{image.name} with fingerprint {image.fingerprint[:12]} is not registered; "
                         f"apply the image first (modelctl apply --target Image/{image.name})")

    def _endpoint(self, node: EndpointNode, progress: Progress) -> dict[str, Any]:
        target = self.services.targets.get(node.target.type)
        if target is None or not hasattr(target, "route_endpoint"):
            raise ApplyError(f"{node.id}: endpoints on {node.target.type} targets are not applied by this version")
        url = target.route_endpoint(node.target_name, node.target, node.name, dict(node.spec.traffic),
                                    node.spec.path, node.fingerprint, progress=progress)
        return {"url": url, "traffic": dict(sorted(node.spec.traffic.items())), "target": node.target_name}

    def _delete(self, action: Action, progress: Progress) -> dict[str, Any]:
        from ..registry import NotFound
        name = action.get("name") or action.name.split("@", 1)[0]
        target_name = action.target
        target_spec = self.graph.workspace.spec.targets.get(target_name)
        if target_spec is None:
            raise ApplyError(f"{action.resource}: target {target_name!r} is no longer in the Workspace; "
                             "remove its containers by hand (they carry the label modelctl.io/target)")
        target = self.services.targets.get(target_spec.type)
        if target is None:
            raise ApplyError(f"{action.resource}: {target_spec.type} targets are not applied by this version")
        if action.kind == "Endpoint":
            target.delete_endpoint(target_name, target_spec, name, progress=progress)
            return {}
        target.delete(target_name, target_spec, name, progress=progress)
        try:
            self.services.registry.remove_deployment(name, target_name)
        except NotFound:
            pass
        return {}
