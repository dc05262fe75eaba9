"""FPGA accelerator host configs: fpga/<deployment>/{accelerator.json, models/<name>/<version>/…}.

The format is documented in docs/targets/fpga.md. The compiled model artifact is copied beside
the config so the folder is self-contained; the bitstream is referenced by uri + sha256.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Mapping

from ..graph import DeploymentNode, FileRef, Graph, ImageNode, ModelNode
from .naming import MANAGED_BY, image_reference, model_version
from .runtime_settings import auth_secret
from .serialize import json_text
from .tree import OutputTree

SCHEMA_VERSION = 1


def render_fpga(graph: Graph, dep: DeploymentNode, tree: OutputTree, model_versions: Mapping[str, str] | None) -> None:
    folder = f"fpga/{dep.name}"
    config = accelerator_config(graph, dep, model_versions)
    for model, entry in zip(_models(graph, dep), config["models"], strict=True):
        tree.copy(f"{folder}/{entry['artifact']['path']}", dep.id, Path(graph.root) / _compiled(model).path)
    tree.add(f"{folder}/accelerator.json", dep.id, json_text(config))


def _models(graph: Graph, dep: DeploymentNode) -> list[ModelNode]:
    image = graph.get_as(dep.image_id, ImageNode)
    models = []
    for use in image.models:
        model = graph.get_as(use.model_id, ModelNode)
        models.append(model)
    return models


def _compiled(model: ModelNode) -> FileRef:
    assert model.compiled is not None  # the graph checks: every model an FPGA deployment serves is compiled
    return model.compiled


def accelerator_config(graph: Graph, dep: DeploymentNode, model_versions: Mapping[str, str] | None) -> dict:
    fpga = dep.spec.fpga
    assert fpga is not None  # the graph checks: an FPGA target's deployments have an fpga section
    image = graph.get_as(dep.image_id, ImageNode)
    models = []
    for model in _models(graph, dep):  # the graph checks guarantee a compiled form of the right architecture
        version = model_version(model, model_versions)
        compiled, accelerator = _compiled(model), model.spec.accelerator
        assert accelerator is not None  # compiled is spec.accelerator.path
        models.append(
            {
                "name": model.name,
                "version": version,
                "framework": model.spec.framework,
                "artifact": {
                    "path": f"models/{model.name}/{version}/{PurePosixPath(compiled.path).name}",
                    "sha256": compiled.sha256,
                    "architecture": accelerator.architecture,
                },
            }
        )
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": "AcceleratorHostConfig",
        "deployment": dep.name,
        "labels": {
            "app.kubernetes.io/managed-by": MANAGED_BY,
            "modelctl.io/resource": dep.id,
            "modelctl.io/fingerprint": dep.fingerprint,
        },
        "device": {"family": fpga.device.family, "part": fpga.device.part},
        "bitstream": {
            "uri": fpga.bitstream.uri,
            "sha256": fpga.bitstream.sha256,
            "architecture": fpga.bitstream.architecture,
        },
        "models": models,
        "serving": {
            "image": image_reference(graph, image),
            "port": image.spec.port,
            "auth": {"mode": dep.spec.auth.mode, "secretRef": auth_secret(dep.name, dep.spec.auth)},
            "env": dict(sorted(dep.spec.env.items())),
            "requestTimeoutSeconds": dep.spec.request_timeout_seconds,
        },
        "batchSize": fpga.batch_size,
        "precision": fpga.precision,
    }
