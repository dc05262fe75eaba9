"""Whole-graph rules that look across nodes: edge layering, FPGA architecture matching, batching with
scoring scripts. What a target type can run is its own check (`TargetType.check`), run by the
pipeline after these."""

from __future__ import annotations

import ast
from pathlib import Path

from ..diagnostics import Diagnostic
from ..load import LoadedDocument
from .nodes import DeploymentNode, ImageNode, ModelNode, Node


def run_all(
    nodes: dict[str, Node], docs: dict[str, LoadedDocument], diags: list[Diagnostic], root: Path | None = None
) -> None:
    deployments = [n for n in nodes.values() if isinstance(n, DeploymentNode)]
    _edge_layering(deployments, docs, diags)
    _fpga_architecture(deployments, nodes, docs, diags)
    if root is not None:
        _batching_scripts(deployments, nodes, docs, diags, root)


def _error(docs: dict[str, LoadedDocument], node: Node, path: tuple, message: str, **kw) -> Diagnostic:
    return Diagnostic(message, docs[node.id].raw.locate(path), path=".".join(path), **kw)


def _edge_layering(deployments: list[DeploymentNode], docs, diags: list[Diagnostic]) -> None:
    edge = [(d, d.spec.edge) for d in deployments if d.spec.edge is not None]
    for dep, settings in edge:
        if not settings.layered:
            continue
        bases = [
            b
            for b, b_settings in edge
            if not b_settings.layered and b.target_name == dep.target_name and b_settings.priority < settings.priority
        ]
        if not bases:
            diags.append(
                _error(
                    docs,
                    dep,
                    ("spec", "edge", "layered"),
                    f"layered deployment needs a base deployment (layered: false) on target '{dep.target_name}' "
                    f"with a priority lower than {settings.priority}",
                    code="edge-layering",
                    suggestion="add a base edge deployment with a lower priority, or set 'layered: false'",
                )
            )


def _fpga_architecture(deployments: list[DeploymentNode], nodes: dict[str, Node], docs, diags) -> None:
    for dep in deployments:
        if dep.spec.fpga is None:
            continue
        image = nodes[dep.image_id]
        assert isinstance(image, ImageNode)
        wanted = dep.spec.fpga.bitstream.architecture
        for use in image.models:
            model = nodes.get(use.model_id)
            if not isinstance(model, ModelNode):
                continue
            if model.spec.accelerator is None:
                diags.append(
                    _error(
                        docs,
                        dep,
                        ("spec", "fpga"),
                        f"model '{model.name}' (in image '{image.name}') has no compiled "
                        f"accelerator form for this FPGA",
                        code="fpga-architecture",
                        expected=f"spec.accelerator with architecture '{wanted}' on Model/{model.name}",
                        suggestion="compile the model for the bitstream's architecture and set spec.accelerator",
                    )
                )
            elif model.spec.accelerator.architecture != wanted:
                diags.append(
                    _error(
                        docs,
                        dep,
                        ("spec", "fpga", "bitstream", "architecture"),
                        f"bitstream architecture '{wanted}' does not match model '{model.name}' compiled for "
                        f"'{model.spec.accelerator.architecture}'",
                        code="fpga-architecture",
                        expected=f"'{model.spec.accelerator.architecture}'",
                        suggestion="use a bitstream built for the model's architecture, or recompile the model",
                    )
                )


def declares_batchable(source: str) -> bool | None:
    """Does a scoring script set `BATCHABLE = True` at module level? None when it cannot be parsed."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    for stmt in tree.body:
        targets = (
            stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        value = getattr(stmt, "value", None)
        if any(isinstance(t, ast.Name) and t.id == "BATCHABLE" for t in targets):
            return isinstance(value, ast.Constant) and value.value is True
    return False


def _batching_scripts(deployments: list[DeploymentNode], nodes: dict[str, Node], docs, diags, root: Path) -> None:
    """Batching asked for, but the image's scoring script does not declare it takes batches: the runtime
    will not batch its models (it logs so at startup); say it here already."""
    for dep in deployments:
        runtime = dep.spec.runtime
        image = nodes.get(dep.image_id)
        if runtime is None or runtime.batching is None or not isinstance(image, ImageNode):
            continue
        script = image.scoring_script
        if script is None or script.is_dir:
            continue
        try:
            source = (root / script.path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if declares_batchable(source) is False:
            diags.append(
                _error(
                    docs,
                    dep,
                    ("spec", "runtime", "batching"),
                    f"batching is off for image '{image.name}': its scoring script {script.path} does not "
                    "declare BATCHABLE = True",
                    code="batching-script",
                    severity="warning",
                    expected="BATCHABLE = True in a script whose run() takes the rows of several requests",
                    suggestion='add `BATCHABLE = True` to the script once run() accepts {"data": rows} of several '
                    "requests and returns one result per row (a list, or a dict of lists), or remove "
                    "spec.runtime.batching",
                )
            )
