"""Whole-graph rules that look across nodes: edge layering and FPGA architecture matching. What a
target type can run is its own check (`TargetType.check`), run by the pipeline after these."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..load import LoadedDocument
from .nodes import DeploymentNode, ImageNode, ModelNode, Node


def run_all(nodes: dict[str, Node], docs: dict[str, LoadedDocument], diags: list[Diagnostic]) -> None:
    deployments = [n for n in nodes.values() if isinstance(n, DeploymentNode)]
    _edge_layering(deployments, docs, diags)
    _fpga_architecture(deployments, nodes, docs, diags)


def _error(docs: dict[str, LoadedDocument], node: Node, path: tuple, message: str, **kw) -> Diagnostic:
    return Diagnostic(message, docs[node.id].raw.locate(path), path=".".join(path), **kw)


def _edge_layering(deployments: list[DeploymentNode], docs, diags: list[Diagnostic]) -> None:
    """A layered deployment applies on top of the base a device got: it must outrank every base
    deployment of its target (IoT Edge: a layer with a lower priority than the base is overridden)."""
    edge = [(d, d.spec.edge) for d in deployments if d.spec.edge is not None]
    for dep, settings in edge:
        if not settings.layered:
            continue
        bases = [(b, s.priority) for b, s in edge if not s.layered and b.target_name == dep.target_name]
        outranking = sorted((p, b.name) for b, p in bases if p >= settings.priority)
        if not bases or len(outranking) == len(bases):
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
        elif outranking:
            priority, base = outranking[-1]
            diags.append(
                _error(
                    docs,
                    dep,
                    ("spec", "edge", "priority"),
                    f"layered deployment has priority {settings.priority}, not above base deployment '{base}' "
                    f"(priority {priority}) on target '{dep.target_name}': the base would override the layer",
                    code="edge-layering",
                    expected=f"a priority above {priority}",
                    suggestion=f"set spec.edge.priority to {priority + 1} or more",
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
