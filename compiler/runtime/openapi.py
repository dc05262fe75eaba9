"""The OpenAPI 3.0 document served at /openapi.json."""

from __future__ import annotations

from . import __version__

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_TENSOR = {
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
_INFER_REQUEST = {
    "type": "object",
    "required": ["inputs"],
    "properties": {
        "id": {"type": "string"},
        "parameters": {"type": "object"},
        "inputs": {"type": "array", "items": _TENSOR},
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
_ERRORS = {
    code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
    for code, text in (
        ("400", "Malformed JSON"),
        ("401", "Not authenticated"),
        ("404", "Unknown model"),
        ("413", "Body too large"),
        ("422", "Input does not match the signature"),
        ("503", "Model not ready"),
        ("504", "Scoring timed out"),
    )
}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _model_param(names: list[str]) -> dict:
    return {"name": "model", "in": "path", "required": True, "schema": {"type": "string", "enum": names}}


def build(image: str, model_names: list[str], auth: bool) -> dict:
    obj = {"type": "object"}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    infer = {
        "requestBody": {"required": True, "content": {"application/json": {"schema": _INFER_REQUEST}}},
        "responses": {"200": _json(obj), **_ERRORS},
    }
    paths = {
        "/v2/health/live": {"get": {"summary": "Liveness", "security": [], "responses": {"200": _json(obj)}}},
        "/v2/health/ready": {
            "get": {
                "summary": "Readiness (all models loaded)",
                "security": [],
                "responses": {"200": _json(obj), "503": _json(obj, "Not ready")},
            }
        },
        "/v2": {"get": {"summary": "Server metadata", "responses": {"200": _json(obj)}}},
        "/v2/models/{model}": {
            "get": {
                "summary": "Model metadata",
                "parameters": [_model_param(model_names)],
                "responses": {"200": _json(obj), "404": _ERRORS["404"]},
            }
        },
        "/v2/models/{model}/versions/{version}": {
            "get": {
                "summary": "Model metadata",
                "parameters": [_model_param(model_names), version],
                "responses": {"200": _json(obj), "404": _ERRORS["404"]},
            }
        },
        "/v2/models/{model}/ready": {
            "get": {
                "summary": "Model readiness",
                "parameters": [_model_param(model_names)],
                "responses": {"200": _json(obj), "503": _json(obj, "Not ready")},
            }
        },
        "/v2/models/{model}/infer": {
            "post": {"summary": "Infer (Open Inference Protocol)", "parameters": [_model_param(model_names)], **infer}
        },
        "/v2/models/{model}/versions/{version}/infer": {
            "post": {"summary": "Infer a given version", "parameters": [_model_param(model_names), version], **infer}
        },
        "/score": {
            "post": {
                "summary": "Score rows (Azure ML style)",
                "parameters": [
                    {
                        "name": "model",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": model_names},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["data"],
                                "properties": {"data": {"type": "array"}},
                            }
                        }
                    },
                },
                "responses": {"200": _json(obj), **_ERRORS},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }
        },
    }
    info = {"title": f"{image or 'modelctl'} scoring API", "version": __version__}
    doc: dict[str, object] = {"openapi": "3.0.3", "info": info, "paths": paths}
    if auth:
        doc["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
        doc["security"] = [{"bearer": []}]
    return doc
