"""Resolve validated documents into a dependency graph: references, files, cycles, fingerprints.

model → image → deployment → endpoint, environment → image (and environment → environment by
`inherit`). Every problem becomes a diagnostic; one broken node does not hide the others.
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError

from ..diagnostics import Diagnostic, Location, did_you_mean
from ..digest import path_sha256
from ..load import LoadedDocument, LoadResult
from ..load.errors import field_path, printable
from ..safepath import PrivatePath, UnsafePath, content_path
from ..spec.common import NAME_PATTERN, split_model_ref
from ..spec.deployment import DEPLOYMENT_SPEC_BY_TARGET, TARGET_SECTIONS
from ..spec.documents import Deployment, Endpoint, Environment, Image, Model, Workspace
from ..spec.endpoint import ENDPOINT_TARGET_TYPES
from ..spec.grammar import matches
from ..spec.workspace import Target, WorkspaceSpec
from . import checks
from .environments import CURATED_PREFIX, curated_environments, merge_environments
from .fingerprint import fingerprint, image_toolchain_digest
from .nodes import (
    DeploymentNode,
    EndpointNode,
    EnvironmentNode,
    FileRef,
    Graph,
    ImageNode,
    ModelNode,
    ModelUse,
    Node,
    WorkspaceInfo,
)

TARGET_ADAPTER: TypeAdapter = TypeAdapter(Target)
KIND_ORDER = ("Model", "Environment", "Image", "Deployment", "Endpoint")
NodeT = TypeVar("NodeT", bound=Node)


@dataclass
class _Context:
    root: Path
    result: LoadResult
    docs: dict[str, LoadedDocument] = field(default_factory=dict)  # id -> doc
    diags: list[Diagnostic] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    broken_targets: set[str] | None = None  # target names of an invalid Workspace (None: any name may be one)
    workspace_broken: bool = False

    def names(self, kind: str) -> list[str]:
        return sorted(n for k, n in self.result.declared if k == kind)

    def declared(self, kind: str, name: str) -> bool:
        return (kind, name) in self.result.declared

    def node_as(self, node_id: str, cls: type[NodeT]) -> NodeT:
        """A resolved node as the class of its kind (like Graph.get_as)."""
        node = self.nodes[node_id]
        if not isinstance(node, cls):
            raise TypeError(f"{node_id} is a {type(node).__name__}, not a {cls.__name__}")
        return node

    def error(
        self,
        doc: LoadedDocument,
        path: tuple,
        message: str,
        *,
        key: bool = False,
        ref: tuple[str, str] | None = None,
        **kw: Any,
    ) -> None:
        """Report at the field's value, or at its key when the key itself is the reference.

        `ref`: the (kind, name) an unknown-reference error is about. A document of that name in a
        file that failed to parse is no unknown name: the error says where it is and which parse
        error to fix, with no "did you mean" (the likely cause of a follow-on error)."""
        if ref is not None and (broken := self.result.unparsed.get(ref)) is not None:
            where = broken.location.file if broken.location else "a file"
            message = f"{ref[0].lower()} '{ref[1]}' is in {where}, which could not be parsed"
            kw.update(
                code="unparsed-reference",
                expected=None,
                suggestion=f"fix the error at {broken.location or where} first",
            )
        elif kw.get("code") == "unknown-reference" and self.result.unreadable:
            maybe = f"it may be defined in {', '.join(self.result.unreadable)}, which could not be read (see its error)"
            kw["suggestion"] = f"{kw['suggestion']} — or {maybe}" if kw.get("suggestion") else maybe
        self.diags.append(Diagnostic(printable(message), doc.raw.locate(path, key=key), path=field_path(path), **kw))

    def diagnose(self, node: Node, path: tuple, message: str, **kw: Any) -> Diagnostic:
        """A diagnostic at a field of a node's document (for the target types' checks)."""
        return Diagnostic(printable(message), self.docs[node.id].raw.locate(path), path=field_path(path), **kw)


# A target type's rules over the resolved nodes: (nodes, diagnose) → diagnostics
TargetChecks = Callable[[Mapping[str, Node], Callable[..., Diagnostic]], list[Diagnostic]]


def build_graph(result: LoadResult, target_checks: TargetChecks | None = None) -> tuple[Graph | None, list[Diagnostic]]:
    """target_checks: each target type's own rules (the pipeline passes the target-type registry's)."""
    ctx = _Context(result.root, result)
    workspace = _workspace(ctx)
    _index(ctx)
    edges = _edges(ctx)
    order = _order(ctx, edges)
    for node_id in order:
        if node_id in ctx.docs:
            _resolve(ctx, node_id, workspace)
    checks.run_all(ctx.nodes, ctx.docs, ctx.diags, ctx.root)
    if target_checks is not None:
        ctx.diags.extend(target_checks(ctx.nodes, ctx.diagnose))
    graph = Graph(str(ctx.root), workspace, {i: ctx.nodes[i] for i in order if i in ctx.nodes})
    return graph, ctx.diags


# -- documents -------------------------------------------------------------------------------


def _workspace(ctx: _Context) -> WorkspaceInfo:
    found = [d for d in ctx.result.documents if d.kind == "Workspace"]
    declared = [name for kind, name in ctx.result.declared if kind == "Workspace"]
    if not found:
        if not declared:
            ctx.workspace_broken = True  # no Workspace, no targets: a reference to one is not reported again
            if any(kind == "Workspace" for kind, _ in ctx.result.unparsed) or not ctx.root.is_dir():
                return WorkspaceInfo("invalid", WorkspaceSpec(), Location("modelctl.yaml"))  # its error says it
            ctx.diags.append(_no_workspace(ctx))
            return WorkspaceInfo("invalid", WorkspaceSpec(), Location("modelctl.yaml"))
        return _salvage_workspace(ctx)
    for extra in found[1:]:
        ctx.error(
            extra,
            ("kind",),
            f"more than one Workspace (first one at {found[0].raw.location})",
            code="duplicate",
            suggestion="keep one Workspace per repo",
        )
    first = found[0]
    return WorkspaceInfo(first.name, first.doc_as(Workspace).spec, first.raw.location)


def _no_workspace(ctx: _Context) -> Diagnostic:
    """Where the Workspace should be: modelctl.yaml's first document when the file exists (1:1 or
    its `kind:`), else the file to create."""
    expected = "one document of kind Workspace (usually modelctl.yaml)"
    for name in ("modelctl.yaml", "modelctl.yml"):
        in_file = [d for d in ctx.result.documents if d.raw.file == name]
        if in_file:
            kinds = ", ".join(sorted({d.kind for d in in_file}))
            return Diagnostic(
                f"no Workspace document in the repo: {name} holds {kinds}",
                in_file[0].raw.locate(("kind",)),
                path="kind",
                code="no-workspace",
                expected=expected,
                suggestion=f"add a `kind: Workspace` document to {name} (modelctl init writes one)",
            )
        if (ctx.root / name).is_file():
            return Diagnostic(
                f"no Workspace document in the repo: {name} holds no document",
                Location(name, 1, 1),
                code="no-workspace",
                expected=expected,
                suggestion=f"add a `kind: Workspace` document to {name} (modelctl init writes one)",
            )
    return Diagnostic(
        "no Workspace document in the repo, and no modelctl.yaml",
        Location("modelctl.yaml"),
        code="no-workspace",
        expected=expected,
        suggestion="run 'modelctl init' to create one, or pass the repo's folder",
    )


def _salvage_workspace(ctx: _Context) -> WorkspaceInfo:
    """The Workspace has errors (reported at it): keep the targets that are valid on their own, so
    deployments on them are still checked, and remember the names of the broken ones, so that a
    reference to them is not reported again as an 'unknown target'."""
    ctx.workspace_broken = True
    raw = next((r for r in ctx.result.invalid if isinstance(r.data, dict) and r.data.get("kind") == "Workspace"), None)
    if raw is None:
        return WorkspaceInfo("invalid", WorkspaceSpec(), Location("modelctl.yaml"))  # broken_targets None: any
    spec = raw.data.get("spec")
    targets = spec.get("targets", {}) if isinstance(spec, dict) else None
    if not isinstance(targets, dict):  # no telling which targets were meant
        return WorkspaceInfo("invalid", WorkspaceSpec(), raw.location)
    valid, ctx.broken_targets = {}, set()
    for name, data in targets.items():
        try:
            if not matches(NAME_PATTERN, name):
                raise ValueError(name)
            valid[name] = TARGET_ADAPTER.validate_python(data)
        except (ValidationError, ValueError):
            ctx.broken_targets.add(name)
    metadata = raw.data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return WorkspaceInfo(name if isinstance(name, str) else "invalid", WorkspaceSpec(targets=valid), raw.location)


def _index(ctx: _Context) -> None:
    for doc in ctx.result.documents:
        if doc.kind == "Workspace":
            continue
        if doc.id in ctx.docs:
            first = ctx.docs[doc.id]
            ctx.error(
                doc,
                ("metadata", "name"),
                f"duplicate {doc.kind} '{doc.name}' (first defined at {first.raw.location})",
                code="duplicate",
                suggestion="rename one of them",
            )
            continue
        ctx.docs[doc.id] = doc
    for env_id, doc in curated_environments().items():
        ctx.docs[f"Environment/{env_id}"] = doc


def _env_id(ref: str) -> str:
    return f"Environment/{ref}"


def _edges(ctx: _Context) -> dict[str, list[str]]:
    """Parent ids per document, for ordering and cycle detection (unknown refs are dropped)."""
    edges: dict[str, list[str]] = {}
    for node_id, doc in ctx.docs.items():
        d = doc.doc  # the class of its kind
        parents: list[str] = []
        if isinstance(d, Environment) and d.spec.inherit:
            parents.append(_env_id(d.spec.inherit))
        elif isinstance(d, Image):
            parents += [f"Model/{split_model_ref(r)[0]}" for r in d.spec.models]
            if d.spec.environment:
                parents.append(_env_id(d.spec.environment))
        elif isinstance(d, Deployment):
            parents.append(f"Image/{d.spec.image}")
        elif isinstance(d, Endpoint):
            parents += [f"Deployment/{name}" for name in d.spec.traffic]
            if d.spec.mirror:
                parents.append(f"Deployment/{d.spec.mirror.deployment}")
        edges[node_id] = [p for p in dict.fromkeys(parents) if p in ctx.docs]
    return edges


def _order(ctx: _Context, edges: dict[str, list[str]]) -> list[str]:
    sorter = graphlib.TopologicalSorter({k: edges[k] for k in sorted(edges, key=_sort_key)})
    try:
        return list(sorter.static_order())
    except graphlib.CycleError as err:
        cycle = list(reversed(err.args[1]))
        doc = ctx.docs[cycle[0]]
        field_path = ("spec", "inherit") if doc.kind == "Environment" else ("spec",)
        ctx.error(
            doc,
            field_path,
            "dependency cycle: " + " -> ".join(cycle),
            code="cycle",
            suggestion="break the cycle by removing one of these references",
        )
        for member in set(cycle):
            edges[member] = []
        return _order(ctx, edges)


def _sort_key(node_id: str) -> tuple:
    kind, _, name = node_id.partition("/")
    return (KIND_ORDER.index(kind) if kind in KIND_ORDER else 99, name)


# -- per kind --------------------------------------------------------------------------------


def _resolve(ctx: _Context, node_id: str, workspace: WorkspaceInfo) -> None:
    doc = ctx.docs[node_id]
    node: Node | None
    if doc.kind == "Environment":  # by id: curated environments are named curated/<name>
        node = _environment(ctx, doc, node_id)
    else:
        resolver: Callable[[_Context, LoadedDocument, WorkspaceInfo], Node | None] = {
            "Model": _model,
            "Image": _image,
            "Deployment": _deployment,
            "Endpoint": _endpoint,
        }[doc.kind]
        node = resolver(ctx, doc, workspace)
    if node is not None:
        ctx.nodes[node.id] = node


def _base(doc: LoadedDocument, parents: list[str], fp: str, node_id: str | None = None) -> dict:
    node_id = node_id or doc.id
    return dict(
        id=node_id,
        kind=doc.kind,
        name=node_id.split("/", 1)[1],
        metadata=doc.doc.metadata,
        source=doc.raw.location,
        parents=tuple(parents),
        fingerprint=fp,
    )


def _file(ctx: _Context, doc: LoadedDocument, path: tuple, rel: str) -> FileRef | None:
    try:
        full = content_path(ctx.root, rel)
    except PrivatePath as err:
        ctx.error(
            doc,
            path,
            str(err),
            code="private-path",
            expected="a file or folder inside the repo, outside .git and .modelctl, not the repo root",
            suggestion="name the file or its own folder, e.g. artifacts/model.joblib; secrets are "
            "referenced by name (auth.secretRef, secretEnv), never copied",
        )
        return None
    except UnsafePath as err:
        ctx.error(
            doc,
            path,
            str(err),
            code="bad-path",
            expected="a file or folder inside the repo",
            suggestion=_path_hint(ctx.root, rel, str(err)),
        )
        return None
    return FileRef(full.relative_to(ctx.root).as_posix(), path_sha256(full), full.is_dir())


def _path_hint(root: Path, rel: str, problem: str) -> str | None:
    if not rel.isprintable():
        return "remove the control character"
    if "symlink" in problem:  # there, but pointing out: no spelling to correct
        return "copy the file into the repo: a symlink must point at a file inside the repo"
    full = root / rel
    if full.is_symlink() or full.exists():
        return "paths are relative to the repo root and must stay inside it"
    closest = _closest_path(root, rel)
    if closest is not None:
        return f"did you mean '{closest}'?"
    return "paths are relative to the repo root and must stay inside it"


def _closest_path(root: Path, rel: str) -> str | None:
    """The existing repo path nearest to a mistyped one, segment by segment, as a whole repo path
    (`score/scor.py` → `score/score.py`, `scroe/score.py` → `score/score.py`); None if none is close."""
    parts = [p for p in PurePosixPath(rel).parts if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    real_root = root.resolve()
    here, out = root, []
    for part in parts:
        if not here.is_dir() or not here.resolve().is_relative_to(real_root):
            return None
        if (here / part).exists():
            chosen = part
        else:
            names = sorted(p.name for p in here.iterdir() if not p.name.startswith("."))
            match = difflib.get_close_matches(part, names, n=1, cutoff=0.6)
            if not match:
                return None
            chosen = match[0]
        out.append(chosen)
        here = here / chosen
    found = "/".join(out)
    return found if found != rel and here.exists() else None


def _model(ctx: _Context, doc: LoadedDocument, _ws: WorkspaceInfo) -> ModelNode | None:
    spec = doc.doc_as(Model).spec
    artifact = _file(ctx, doc, ("spec", "path"), spec.path) if spec.path else None
    compiled = _file(ctx, doc, ("spec", "accelerator", "path"), spec.accelerator.path) if spec.accelerator else None
    if (spec.path and artifact is None) or (spec.accelerator and compiled is None):
        return None
    fp = fingerprint("Model", doc.doc.metadata, spec, files=[artifact, compiled])
    return ModelNode(**_base(doc, [], fp), spec=spec, artifact=artifact, compiled=compiled)


def _environment(ctx: _Context, doc: LoadedDocument, node_id: str) -> EnvironmentNode | None:
    spec = doc.doc_as(Environment).spec
    curated = node_id.startswith(_env_id(CURATED_PREFIX))
    parents: list[str] = []
    if spec.inherit:
        parent_id = _env_id(spec.inherit)
        if parent_id not in ctx.nodes:
            if parent_id not in ctx.docs and not ctx.declared("Environment", spec.inherit):
                ctx.error(
                    doc,
                    ("spec", "inherit"),
                    f"unknown environment '{spec.inherit}'",
                    code="unknown-reference",
                    ref=("Environment", spec.inherit),
                    suggestion=did_you_mean(spec.inherit, _environment_names(ctx)),
                )
            return None
        spec = merge_environments(ctx.node_as(parent_id, EnvironmentNode).spec, spec)
        parents.append(parent_id)
    if not spec.base:
        ctx.error(
            doc,
            ("spec",),
            "environment has no 'base' image (set 'base' or 'inherit')",
            code="missing",
            suggestion="add 'base: python:3.11-slim'",
        )
        return None
    parent_fps = [ctx.nodes[p].fingerprint for p in parents]
    fp = fingerprint("Environment", doc.doc.metadata, spec, parents=parent_fps)
    return EnvironmentNode(**_base(doc, parents, fp, node_id), spec=spec, curated=curated)


def _environment_names(ctx: _Context) -> list[str]:
    return [k.split("/", 1)[1] for k in ctx.docs if k.startswith("Environment/")]


def _image(ctx: _Context, doc: LoadedDocument, _ws: WorkspaceInfo) -> ImageNode | None:
    spec = doc.doc_as(Image).spec
    ok = True
    uses: list[ModelUse] = []
    for i, ref in enumerate(spec.models):
        name, selector = split_model_ref(ref)
        model_id = f"Model/{name}"
        if not ctx.declared("Model", name):
            ctx.error(
                doc,
                ("spec", "models", i),
                f"unknown model '{name}'",
                code="unknown-reference",
                ref=("Model", name),
                expected="the name of a Model in this repo",
                suggestion=did_you_mean(name, ctx.names("Model")),
            )
            ok = False
        elif model_id not in ctx.nodes:
            ok = False  # the model itself has errors, reported at its own document
        uses.append(ModelUse(model_id, name, selector))
    env_id = None
    if spec.environment:
        env_id = _env_id(spec.environment)
        if env_id not in ctx.docs and not ctx.declared("Environment", spec.environment):
            hint = did_you_mean(spec.environment, _environment_names(ctx))
            if not hint and not spec.environment.startswith(CURATED_PREFIX):
                curated = [n for n in _environment_names(ctx) if n.startswith(CURATED_PREFIX)]
                hint = did_you_mean(CURATED_PREFIX + spec.environment, curated)
            ctx.error(
                doc,
                ("spec", "environment"),
                f"unknown environment '{spec.environment}'",
                code="unknown-reference",
                ref=("Environment", spec.environment),
                expected="curated/<name> or an Environment in this repo",
                suggestion=hint,
            )
            ok = False
        elif env_id not in ctx.nodes:
            ok = False  # the environment has errors, reported at its own document
    script = None
    if spec.scoring.script:
        script = _file(ctx, doc, ("spec", "scoring", "script"), spec.scoring.script)
        ok = ok and script is not None
    if not ok:
        return None
    parents = [u.model_id for u in uses] + ([env_id] if env_id else [])
    parents = list(dict.fromkeys(parents))
    extra = {"toolchain": image_toolchain_digest()} if not spec.prebuilt else {}
    # A pinned use (`iris@3`, `iris@tag:stable`) is built from the registry's copy of that version,
    # not from the repo's file: it stands for itself, so a new model file does not rebuild the image.
    pinned = {u.model_id: f"{u.model_id}@{u.selector}" for u in uses if u.selector != "latest"}
    latest = {u.model_id for u in uses if u.selector == "latest"}
    parent_fps = [ctx.nodes[p].fingerprint for p in parents if p in latest or not p.startswith("Model/")]
    parent_fps += [token for p, token in pinned.items() if p not in latest]
    fp = fingerprint("Image", doc.doc.metadata, spec, files=[script], extra=extra, parents=parent_fps)
    return ImageNode(
        **_base(doc, parents, fp), spec=spec, models=tuple(uses), environment_id=env_id, scoring_script=script
    )


def _target(ctx: _Context, doc: LoadedDocument, name: str, ws: WorkspaceInfo) -> Target | None:
    """The Workspace's target `name` that a Deployment or Endpoint names at spec.target."""
    target = ws.spec.targets.get(name)
    if target is None and ctx.workspace_broken and (ctx.broken_targets is None or name in ctx.broken_targets):
        return None  # the Workspace's own error covers it
    if target is None:
        known = sorted(ws.spec.targets)
        ctx.error(
            doc,
            ("spec", "target"),
            f"unknown target '{name}': it is not in the Workspace's targets",
            code="unknown-reference",
            expected="one of: " + ", ".join(known) if known else "a target in modelctl.yaml",
            suggestion=did_you_mean(name, known) or f"add '{name}' under spec.targets in the Workspace",
        )
    return target


def _deployment(ctx: _Context, doc: LoadedDocument, ws: WorkspaceInfo) -> DeploymentNode | None:
    spec = doc.doc_as(Deployment).spec
    target = _target(ctx, doc, spec.target, ws)
    ok = target is not None
    image_id = f"Image/{spec.image}"
    if not ctx.declared("Image", spec.image):
        ctx.error(
            doc,
            ("spec", "image"),
            f"unknown image '{spec.image}'",
            code="unknown-reference",
            ref=("Image", spec.image),
            expected="the name of an Image in this repo",
            suggestion=did_you_mean(spec.image, ctx.names("Image")),
        )
        ok = False
    elif image_id not in ctx.nodes:
        ok = False
    if target is not None:
        ok = _target_sections(ctx, doc, target.type) and ok
    if not ok or target is None:
        return None
    # Already validated, and the sections checked against the target type: re-type without re-validating.
    typed = DEPLOYMENT_SPEC_BY_TARGET[target.type].model_construct(spec.model_fields_set, **dict(spec))
    fp = fingerprint(
        "Deployment",
        doc.doc.metadata,
        typed,
        parents=[ctx.nodes[image_id].fingerprint],
        extra={"target": target.model_dump(mode="json")},
    )
    return DeploymentNode(
        **_base(doc, [image_id], fp), spec=typed, target_name=spec.target, target=target, image_id=image_id
    )


def _target_sections(ctx: _Context, doc: LoadedDocument, target_type: str) -> bool:
    spec = doc.doc_as(Deployment).spec
    ok = True
    own = TARGET_SECTIONS.get(target_type)  # the section only this target type takes (edge, fpga)
    for section in TARGET_SECTIONS.values():
        present = getattr(spec, section) is not None
        if present and own != section:
            ctx.error(
                doc,
                ("spec", section),
                f"'{section}' settings are only allowed on {section} targets; "
                f"target '{spec.target}' is of type {target_type}",
                code="wrong-target-type",
                suggestion=f"remove '{section}' or deploy to a {section} target",
            )
            ok = False
        elif not present and own == section:
            ctx.error(
                doc,
                ("spec",),
                f"a deployment on {section} target '{spec.target}' needs a '{section}' section",
                code="missing",
                expected=f"spec.{section}",
                suggestion=f"add '{section}:' (see docs/targets/{section}.md)",
            )
            ok = False
    return ok


def _endpoint(ctx: _Context, doc: LoadedDocument, ws: WorkspaceInfo) -> EndpointNode | None:
    spec = doc.doc_as(Endpoint).spec
    target = _target(ctx, doc, spec.target, ws)
    ok = target is not None
    if target is not None and target.type not in ENDPOINT_TARGET_TYPES:
        ctx.error(
            doc,
            ("spec", "target"),
            f"endpoints route traffic on kubernetes or docker targets; '{spec.target}' is of type {target.type}",
            code="wrong-target-type",
        )
        ok = False
    deployments: list[str] = []
    refs = [(("spec", "traffic", name), name, True) for name in spec.traffic]
    if spec.mirror:
        refs.append((("spec", "mirror", "deployment"), spec.mirror.deployment, False))
    for path, name, is_key in refs:
        dep_id = f"Deployment/{name}"
        if not ctx.declared("Deployment", name):
            ctx.error(
                doc,
                path,
                f"unknown deployment '{name}'",
                code="unknown-reference",
                ref=("Deployment", name),
                key=is_key,
                expected="the name of a Deployment in this repo",
                suggestion=did_you_mean(name, ctx.names("Deployment")),
            )
            ok = False
        elif dep_id not in ctx.nodes:
            ok = False
        elif (dep_target := ctx.node_as(dep_id, DeploymentNode).target_name) != spec.target:
            ctx.error(
                doc,
                path,
                f"deployment '{name}' runs on target '{dep_target}', not on the endpoint's target '{spec.target}'",
                code="wrong-target",
                suggestion="an endpoint routes only to deployments on its own target",
                key=is_key,
            )
            ok = False
        deployments.append(dep_id)
    total = sum(spec.traffic.values())
    if total not in (0, 100):
        split = " + ".join(str(v) for v in spec.traffic.values())
        ctx.error(
            doc,
            ("spec", "traffic"),
            f"traffic split totals {total} ({split}), not 100",
            code="traffic-total",
            expected="percentages that total 100 (or all 0)",
            suggestion="adjust the weights so they add up to 100",
        )
        ok = False
    if not ok or target is None:
        return None
    deployments = list(dict.fromkeys(deployments))
    # Routing depends on deployment names, not their content: a model change must not touch the endpoint.
    fp = fingerprint("Endpoint", doc.doc.metadata, spec, extra={"target": target.model_dump(mode="json")})
    return EndpointNode(
        **_base(doc, deployments, fp),
        spec=spec,
        target_name=spec.target,
        target=target,
        deployment_ids=tuple(deployments),
    )
