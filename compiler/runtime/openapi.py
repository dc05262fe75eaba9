"""The OpenAPI 3.0 document served at /openapi.json."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import __version__
from .settings import TensorSpec
from .tensors import v2_datatype

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_TENSOR: dict[str, Any] = {
    "type": "object",
    "required": ["name", "shape", "datatype"],
    "properties": {
        "name": {"type": "string"},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {
            "type": "string",
            "enum": [
                "BOOL",
                "UINT8",
                "UINT16",
                "UINT32",
                "UINT64",
                "INT8",
                "INT16",
                "INT32",
                "INT64",
                "FP16",
                "FP32",
                "FP64",
                "BYTES",
            ],
        },
        "parameters": {"type": "object"},
        "data": {"type": "array"},
    },
}
_ERROR_TEXT = {
    "400": "Malformed JSON or request",
    "401": "Not authenticated: no valid Bearer key or token",
    "404": "Unknown model or version",
    "413": "Body too large (or its estimated memory could never fit this worker)",
    "422": "The input does not match the model",
    "503": "Model not ready, or the server is busy (Retry-After)",
    "504": "Scoring timed out",
}
_ERRORS = {
    code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
    for code, text in _ERROR_TEXT.items()
}
_FLOAT_MAX = {"float16": 65504.0, "float32": 3.4028234663852886e38}
_JSON_NUMBER = {"number": {"type": "number"}, "integer": {"type": "integer"}, "boolean": {"type": "boolean"}}


def _scalar(dtype: str) -> dict:
    """The JSON Schema of one value of a numpy dtype, as the runtime accepts it (strings are not numbers)."""
    if dtype == "bool":
        return _JSON_NUMBER["boolean"]
    if dtype.startswith(("int", "uint")):
        return _JSON_NUMBER["integer"]
    if dtype in _FLOAT_MAX:  # a larger number would become infinity: the model rejects it
        return {"type": "number", "minimum": -_FLOAT_MAX[dtype], "maximum": _FLOAT_MAX[dtype]}
    if dtype.startswith("float"):
        return _JSON_NUMBER["number"]
    return {}


def _tensor(inputs) -> dict:  # noqa: ANN001
    """An infer request input: for a known signature, its names and datatypes; else any tensor."""
    if not inputs:
        return _TENSOR
    names = [i.name for i in inputs]
    types = sorted({v2_datatype(i.dtype) for i in inputs})
    properties = {
        **_TENSOR["properties"],
        "name": {"type": "string", "enum": names},
        "datatype": {"type": "string", "enum": types},
    }
    ranks = {len(i.shape) for i in inputs}
    if len(ranks) == 1:
        (rank,) = ranks
        properties["shape"] = {**properties["shape"], "minItems": rank, "maxItems": rank}
    scalars = {str(_scalar(i.dtype)) for i in inputs}
    if len(scalars) == 1:
        properties["data"] = {"type": "array", "items": _scalar(inputs[0].dtype)}
    return {**_TENSOR, "required": ["name", "shape", "datatype", "data"], "properties": properties}


def _infer_request(inputs) -> dict:  # noqa: ANN001
    items = {"type": "array", "minItems": 1, "items": _tensor(inputs)}
    if inputs:
        items["maxItems"] = len(inputs)
    return {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": items,
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}, "parameters": {"type": "object"}},
                },
            },
        },
    }


def _rows(spec) -> dict:  # noqa: ANN001
    """`data` of /score for a model with one input: a non-empty list of rows of the input's shape."""
    if spec is None:
        return {"type": "array", "minItems": 1}
    item: dict = _scalar(spec.dtype)
    for dim in reversed(spec.shape[1:]):
        item = {"type": "array", "items": item, **({"minItems": dim, "maxItems": dim} if dim >= 0 else {})}
    return {"type": "array", "minItems": 1, "items": item}


def _single_input(models: list[ModelDoc]) -> tuple[TensorSpec, ...] | None:
    """The one input spec every model shares (what /score and infer bodies can be checked against)."""
    specs = {tuple(m.inputs) if m.inputs and not m.scripted else None for m in models}
    if len(specs) != 1:
        return None
    (spec,) = specs
    return spec


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _model_param(names: list[str]) -> dict:
    return {"name": "model", "in": "path", "required": True, "schema": {"type": "string", "enum": names}}


@dataclass(frozen=True)
class ModelDoc:
    """What the document says about one model: its name, version and (when known) input specs."""

    name: str
    version: str
    inputs: tuple[TensorSpec, ...] | None = None
    scripted: bool = False  # a scoring script reads the body: its input is the script's business


def _responses(ok: dict, codes: tuple[str, ...], auth: bool, token: bool) -> dict:
    out = {"200": ok, **{c: _ERRORS[c] for c in codes}}
    if auth:
        out["401"] = _ERRORS["401"]
    if token:
        out["403"] = {"description": "The token does not grant this model", "content": _ERRORS["401"]["content"]}
    return dict(sorted(out.items()))


def build(image: str, models: list[ModelDoc], auth: bool, token: bool = False) -> dict:
    """The document of what the runtime answers: every status a route can return is listed."""
    obj = {"type": "object"}
    names = [m.name for m in models]
    versions = sorted({m.version for m in models})
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string", "enum": versions}}
    spec = _single_input(models)
    body_errors = ("400", "404", "413", "422", "503", "504")

    def op(summary: str, ok: dict, codes: tuple[str, ...] = (), *, guarded: bool = True, **extra) -> dict:
        return {"summary": summary, **extra, "responses": _responses(ok, codes, auth and guarded, token and guarded)}

    infer: dict[str, Any] = {
        "requestBody": {"required": True, "content": {"application/json": {"schema": _infer_request(spec)}}},
    }
    score_body = {
        "type": "object",
        "required": ["data"],
        "properties": {"data": _rows(spec[0] if spec and len(spec) == 1 else None)},
    }
    not_ready = _json(obj, "Not ready")
    paths = {
        "/v2/health/live": {"get": op("Liveness", _json(obj), guarded=False, security=[])},
        "/v2/health/ready": {
            "get": {
                "summary": "Readiness (all models loaded)",
                "security": [],
                "responses": {"200": _json(obj), "503": not_ready},
            }
        },
        "/v2": {"get": op("Server metadata", _json(obj))},
        "/v2/models/{model}": {
            "get": op("Model metadata", _json(obj), ("404",), parameters=[_model_param(names)]),
        },
        "/v2/models/{model}/versions/{version}": {
            "get": op("Model metadata", _json(obj), ("404",), parameters=[_model_param(names), version]),
        },
        "/v2/models/{model}/ready": {
            "get": {
                **op("Model readiness", _json(obj), ("404",), parameters=[_model_param(names)]),
            }
        },
        "/v2/models/{model}/infer": {
            "post": op(
                "Infer (Open Inference Protocol)",
                _json(obj),
                body_errors,
                parameters=[_model_param(names)],
                **infer,
            )
        },
        "/v2/models/{model}/versions/{version}/infer": {
            "post": op(
                "Infer a given version",
                _json(obj),
                body_errors,
                parameters=[_model_param(names), version],
                **infer,
            )
        },
        "/score": {
            "post": op(
                "Score rows (Azure ML style)",
                _json(obj),
                body_errors,
                parameters=[
                    {
                        "name": "model",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": names},
                    }
                ],
                requestBody={"required": True, "content": {"application/json": {"schema": score_body}}},
            )
        },
        "/metrics": {
            "get": op(
                "Prometheus metrics of this deployment (scrape each deployment, not an endpoint)",
                {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
                ("404",),
            )
        },
        "/openapi.json": {"get": op("This document", _json(obj))},
    }
    paths["/v2/models/{model}/ready"]["get"]["responses"]["503"] = not_ready
    paths["/metrics"]["get"]["responses"]["404"] = {
        "description": "Through an endpoint: /metrics is per deployment, scrape the deployments' own URLs",
        "content": _ERRORS["404"]["content"],
    }
    info = {"title": f"{image or 'modelctl'} scoring API", "version": __version__}
    doc: dict[str, object] = {"openapi": "3.0.3", "info": info, "paths": paths}
    if auth:
        doc["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        doc["security"] = [{"bearer": []}]
    return doc
