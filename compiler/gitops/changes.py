"""What a pull request changes: two compiled revisions compared node by node and file by file.

Pure: graphs and in-memory render trees in, a frozen `ChangeSet` out. Nodes are matched by id
(kind/name), so moving a document to another file changes nothing; fingerprints decide what
changed, and the reasons say why (an image rebuilds because its model's artifact changed…).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from ..graph import DeploymentNode, EndpointNode, EnvironmentNode, Graph, ImageNode, ModelNode, Node
from ..plan.deployments import spec_diffs
from ..plan.model import FieldDiff
from ..render.tree import OutputTree

Change = Literal["added", "changed", "removed"]
MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class ArtifactChange:
    path: str  # rendered file, relative to the render root
    change: Change
    diff: str  # unified diff for text, a digest line for binary files


@dataclass(frozen=True)
class ResourceChange:
    resource: str
    change: Change
    file: str | None  # where the resource is defined (head, or base when removed)
    line: int
    diffs: tuple[FieldDiff, ...] = ()
    reasons: tuple[str, ...] = ()
    artifacts: tuple[ArtifactChange, ...] = ()

    @property
    def kind(self) -> str:
        return self.resource.split("/", 1)[0]

    @property
    def action(self) -> str:
        """What the change means downstream: rebuild (images), roll (deployments), or the change."""
        if self.change == "changed" and self.kind == "Image":
            return "rebuild"
        if self.change == "changed" and self.kind == "Deployment":
            return "roll"
        return self.change


@dataclass(frozen=True)
class ChangeSet:
    changes: tuple[ResourceChange, ...]  # dependency order of head, removals last
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.changes

    def of(self, change: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.change == change]

    def rebuilds(self) -> list[str]:
        return [c.resource.split("/", 1)[1] for c in self.changes if c.kind == "Image" and c.change != "removed"]

    def rolls(self) -> list[str]:
        return [c.resource.split("/", 1)[1] for c in self.changes if c.kind == "Deployment" and c.change != "removed"]


def compare(base: Graph | None, head: Graph, base_tree: OutputTree | None, head_tree: OutputTree) -> ChangeSet:
    base_nodes = {n.id: n for n in base} if base else {}
    artifacts = _artifact_changes(base_tree, head_tree)
    changes: list[ResourceChange] = []
    unchanged = 0
    for node in head:
        if isinstance(node, EnvironmentNode) and node.curated:
            continue
        old = base_nodes.get(node.id)
        if old is not None and old.fingerprint == node.fingerprint:
            unchanged += 1
            continue
        kind: Change = "added" if old is None else "changed"
        diffs = () if old is None else tuple(_node_diffs(old, node))
        reasons = (f"new {node.kind.lower()}",) if old is None else tuple(_reasons(old, node, base_nodes, head))
        changes.append(
            ResourceChange(
                node.id, kind, node.source.file, node.source.line, diffs, reasons, tuple(artifacts.get(node.id, ()))
            )
        )
    head_ids = {n.id for n in head}
    for node_id, old in base_nodes.items():
        if node_id not in head_ids and not (isinstance(old, EnvironmentNode) and old.curated):
            changes.append(
                ResourceChange(
                    node_id,
                    "removed",
                    old.source.file,
                    old.source.line,
                    reasons=("removed from git",),
                    artifacts=tuple(artifacts.get(node_id, ())),
                )
            )
    return ChangeSet(tuple(changes), unchanged)


# -- field diffs and reasons -------------------------------------------------------------------


def _node_diffs(old: Node, new: Node) -> list[FieldDiff]:
    diffs = spec_diffs(_spec(old), _spec(new))
    for field in ("tags", "labels", "description"):
        before, after = getattr(old.metadata, field), getattr(new.metadata, field)
        if before != after:
            diffs.append(FieldDiff(f"metadata.{field}", before, after))
    for label, before, after in _file_pairs(old, new):
        if before != after:
            diffs.append(FieldDiff(label, before, after))
    return diffs


def _spec(node: Node) -> dict:
    assert isinstance(node, (ModelNode, EnvironmentNode, ImageNode, DeploymentNode, EndpointNode))  # every kind
    return node.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _file_pairs(old: Node, new: Node) -> list[tuple[str, str | None, str | None]]:
    def digest(ref) -> str | None:
        return f"sha256:{ref.sha256[:12]}" if ref is not None else None

    if isinstance(new, ModelNode) and isinstance(old, ModelNode):
        return [
            ("artifact", digest(old.artifact), digest(new.artifact)),
            ("accelerator.artifact", digest(old.compiled), digest(new.compiled)),
        ]
    if isinstance(new, ImageNode) and isinstance(old, ImageNode):
        return [("scoring.script.content", digest(old.scoring_script), digest(new.scoring_script))]
    return []


def _reasons(old: Node, new: Node, base_nodes: dict[str, Node], head: Graph) -> list[str]:
    reasons = [f"{d.path} changed" for d in _node_diffs(old, new)]
    for parent_id in new.parents:
        parent = head.get(parent_id)
        before = base_nodes.get(parent_id)
        if before is None:
            reasons.append(f"uses new {parent.kind.lower()} {parent.name}")
        elif before.fingerprint != parent.fingerprint and not isinstance(new, EndpointNode):
            what = "rebuilds" if isinstance(parent, ImageNode) else "changed"
            reasons.append(f"{parent.kind.lower()} {parent.name} {what}")
    if not reasons and isinstance(new, ImageNode):
        reasons.append("scoring runtime or Dockerfile templates changed")
    if not reasons and isinstance(new, DeploymentNode) and isinstance(old, DeploymentNode) and old.target != new.target:
        reasons.append(f"target {new.target_name} settings changed")
    return reasons or ["definition changed"]


# -- rendered artifacts ----------------------------------------------------------------------


def _artifact_changes(base: OutputTree | None, head: OutputTree) -> dict[str, list[ArtifactChange]]:
    old = base.files if base else {}
    new = head.files
    out: dict[str, list[ArtifactChange]] = {}
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before is not None and after is not None and before.sha256() == after.sha256():
            continue
        change: Change = "added" if before is None else "removed" if after is None else "changed"
        produced = after if after is not None else before
        assert produced is not None  # the path is in one tree at least
        node = produced.node
        out.setdefault(node, []).append(ArtifactChange(path, change, _file_diff(path, before, after)))
    return out


def _file_diff(path: str, before, after) -> str:
    a, b = _text(before), _text(after)
    if a is None or b is None:
        sha = lambda f: f.sha256()[:12] if f is not None else "none"  # noqa: E731
        return f"binary file {path}: sha256 {sha(before)} → {sha(after)}"
    lines = list(
        difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True), f"a/{path}", f"b/{path}", n=3)
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = lines[:MAX_DIFF_LINES] + [f"… {len(lines) - MAX_DIFF_LINES} more diff lines\n"]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _text(item) -> str | None:
    if item is None:
        return ""
    data = item.data if item.data is not None else None
    if data is None:
        return None  # a copied repo file (a model): compared by digest only
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
