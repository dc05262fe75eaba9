"""What the registry learns from a model at registration, without ever executing it.

sklearn: the joblib/pickle file is only hashed (unpickling runs code). ONNX: inputs/outputs are
read with the `onnx` package. MLflow: the MLmodel YAML gives flavors and signature. custom: nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidArgument

PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")
# MLflow column types → our dtype names.
MLFLOW_COLUMN_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
    "binary": "bytes",
    "datetime": "datetime",
}


@dataclass(frozen=True)
class ModelInfo:
    entry: str | None  # the main file, relative to the model root
    signature: dict[str, Any] | None = None
    flavors: dict[str, Any] = field(default_factory=dict)


def inspect_model(framework: str, source: Path) -> ModelInfo:
    return _READERS[framework](source)


def _single(source: Path, suffixes: tuple[str, ...], framework: str) -> Path:
    if source.is_file():
        return source
    found = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if len(found) != 1:
        raise InvalidArgument(
            f"{framework} model folder {source} must contain exactly one {'/'.join(suffixes)} file, found {len(found)}"
        )
    return found[0]


def _entry(source: Path, path: Path) -> str:
    return path.name if source.is_file() else path.relative_to(source).as_posix()


def _read_sklearn(source: Path) -> ModelInfo:
    path = _single(source, PICKLE_SUFFIXES, "sklearn")
    with open(path, "rb") as f:
        head = f.read(2)
    fmt = "joblib" if path.suffix.lower() == ".joblib" else "pickle"
    flavors = {"sklearn": {"serialization": fmt, "pickle_protocol": head[1] if head[:1] == b"\x80" else None}}
    return ModelInfo(_entry(source, path), None, flavors)


def _onnx_tensors(values, skip: set[str]) -> list[dict[str, Any]]:  # noqa: ANN001
    from onnx import helper

    tensors = []
    for value in values:
        if value.name in skip:
            continue
        tensor_type = value.type.tensor_type
        try:
            dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name
        except (KeyError, TypeError, ValueError):
            dtype = "unknown"
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor_type.shape.dim]
        tensors.append({"name": value.name, "dtype": dtype, "shape": shape})
    return tensors


def _read_onnx(source: Path) -> ModelInfo:
    import onnx

    path = _single(source, (".onnx",), "onnx")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends
        raise InvalidArgument(f"{path.name} is not a readable ONNX model: {exc}") from None
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    signature = {"inputs": _onnx_tensors(graph.input, initializers), "outputs": _onnx_tensors(graph.output, set())}
    flavors = {
        "onnx": {
            "ir_version": model.ir_version,
            "producer": model.producer_name or None,
            "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        }
    }
    return ModelInfo(_entry(source, path), signature, flavors)


def _mlflow_specs(text: str | None) -> list[dict[str, Any]]:
    specs = []
    for spec in json.loads(text) if text else []:
        if spec.get("type") == "tensor":
            tensor = spec.get("tensor-spec", {})
            specs.append(
                {
                    "name": spec.get("name"),
                    "dtype": tensor.get("dtype", "unknown"),
                    "shape": list(tensor.get("shape", [-1])),
                }
            )
        else:
            specs.append(
                {
                    "name": spec.get("name"),
                    "dtype": MLFLOW_COLUMN_TYPES.get(spec.get("type"), spec.get("type")),
                    "shape": [-1],
                }
            )
    return specs


def _read_mlflow(source: Path) -> ModelInfo:
    from ruamel.yaml import YAML, YAMLError

    mlmodel = source / "MLmodel"
    if not source.is_dir() or not mlmodel.is_file():
        raise InvalidArgument(f"an MLflow model is a folder containing an MLmodel file; {source} is not")
    try:
        doc = YAML(typ="safe").load(mlmodel.read_text(encoding="utf-8")) or {}
        raw_signature = doc.get("signature")
        signature = None
        if raw_signature:
            signature = {
                "inputs": _mlflow_specs(raw_signature.get("inputs")),
                "outputs": _mlflow_specs(raw_signature.get("outputs")),
            }
    except (YAMLError, ValueError, AttributeError) as exc:
        raise InvalidArgument(f"cannot read {mlmodel}: {exc}") from None
    flavors = {
        name: {k: v for k, v in (conf or {}).items() if isinstance(v, str | int | float | bool)}
        for name, conf in (doc.get("flavors") or {}).items()
    }
    meta = {"mlflow_version": doc.get("mlflow_version"), "run_id": doc.get("run_id")}
    return ModelInfo("MLmodel", signature, {"mlflow": {"flavors": flavors, **meta}})


def _read_custom(source: Path) -> ModelInfo:
    return ModelInfo(source.name if source.is_file() else None)


_READERS = {"sklearn": _read_sklearn, "onnx": _read_onnx, "mlflow": _read_mlflow, "custom": _read_custom}


def check_signature(signature: Any) -> dict[str, Any] | None:
    """A signature given by the user: {"inputs": [{name, dtype, shape}], "outputs": [...]}."""
    if signature is None:
        return None
    if not isinstance(signature, dict) or set(signature) - {"inputs", "outputs"}:
        raise InvalidArgument("signature must be a mapping with 'inputs' and 'outputs' lists")
    clean: dict[str, Any] = {}
    for side in ("inputs", "outputs"):
        specs = signature.get(side, [])
        if not isinstance(specs, list):
            raise InvalidArgument(f"signature {side} must be a list")
        clean[side] = []
        for spec in specs:
            if not isinstance(spec, dict) or not isinstance(spec.get("dtype"), str):
                raise InvalidArgument(f"signature {side}: each entry needs a 'dtype' string, got {spec!r}")
            shape = spec.get("shape", [-1])
            if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
                raise InvalidArgument(f"signature {side}: shape must be a list of integers, got {shape!r}")
            clean[side].append({"name": spec.get("name"), "dtype": spec["dtype"], "shape": shape})
    return clean
