"""The OpenAPI 3.1 document of the dashboard's JSON API (served at /api/v1/openapi.json; docs/ui.md explains it)."""

from __future__ import annotations

from typing import Any

from .. import __version__

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": ["integer", "null"]}
_OBJ = {"type": "object"}
_ERROR = {"type": "object", "required": ["error"], "properties": {"error": _STR}}

TARGET = {
    "type": "object",
    "properties": {
        "name": _STR,
        "type": _STR,
        "applied": {"type": "boolean"},
        "reachable": {"type": "boolean"},
        "error": _NSTR,
    },
}
NODE = {
    "type": "object",
    "description": "A Model, Image, Deployment or Endpoint of the repo with its live state.",
    "required": ["id", "kind", "name", "fingerprint", "drift"],
    "properties": {
        "id": _STR,
        "kind": {"enum": ["Model", "Image", "Deployment", "Endpoint"]},
        "name": _STR,
        "fingerprint": {**_STR, "description": "the node's fingerprint, first 12 hex digits"},
        "source": _STR,
        "parents": {"type": "array", "items": _STR},
        "version": _INT,
        "drift": {"enum": ["in sync", "by-hand", "pending", "expected", "unknown", "not checked"]},
        "action": _NSTR,
        "reasons": {"type": "array", "items": _STR},
        "target": _STR,
        "targetType": _STR,
        "image": _STR,
        "imageVersion": _INT,
        "url": _NSTR,
        "health": _STR,
        "ready": _INT,
        "desired": _INT,
        "containers": {"type": "array", "items": _STR},
        "conditions": {"type": "array", "items": _STR},
        "auth": {"type": ["object", "null"], "properties": {"mode": _STR, "secretRef": _NSTR}},
        "traffic": _OBJ,
        "liveTraffic": {"type": ["object", "null"]},
        "lastRollout": {**_NSTR, "description": "when apply last rolled the deployment out (ISO 8601)"},
        "command": _STR,
    },
}
WORKSPACE = {
    "type": "object",
    "properties": {
        "workspace": _NSTR,
        "root": _STR,
        "git": _OBJ,
        "registry": {"type": "boolean", "description": "false: nothing applied yet"},
        "targets": {"type": "array", "items": TARGET},
        "nodes": {"type": "array", "items": NODE},
        "drift": {"type": ["object", "null"], "description": "as `modelctl drift --format json`"},
        "plan": {"type": ["object", "null"]},
        "problems": {"type": "array", "items": {"type": "object", "properties": {"location": _NSTR, "message": _STR}}},
        "warnings": {"type": "array", "items": _STR},
        "readSeconds": {"type": "number"},
    },
}


def _get(summary: str, schema: dict[str, Any], params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": schema}}},
        "401": {"description": "token missing or wrong", "content": {"application/json": {"schema": _ERROR}}},
    }
    if params:
        responses["400"] = {"description": "bad parameter", "content": {"application/json": {"schema": _ERROR}}}
    if any(p["in"] == "path" for p in params or []):
        responses["404"] = {"description": "unknown name", "content": {"application/json": {"schema": _ERROR}}}
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _param(name: str, where: str = "query", description: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": _STR, "description": description}


def document() -> dict[str, Any]:
    listing = {
        "type": "object",
        "properties": {"targets": {"type": "array"}, "items": {"type": "array", "items": NODE}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "modelctl ui", "version": __version__, "description": "Read-only: every route is GET."},
        "servers": [{"url": "/api/v1"}],
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/workspace": _get("Everything: targets, nodes with live state, drift, plan", WORKSPACE),
            "/graph": _get(
                "Model → Image → Deployment → Endpoint nodes and edges",
                {
                    "type": "object",
                    "properties": {"nodes": {"type": "array", "items": NODE}, "edges": {"type": "array"}},
                },
            ),
            "/deployments": _get("Every deployment of the repo with health and drift", listing),
            "/deployments/{name}": _get(
                "One deployment: its node, each replica's recent activity (logs; pod conditions, events), its applies",
                {"type": "object", "properties": {"deployment": NODE, "activity": _OBJ, "history": {"type": "array"}}},
                [_param("name", "path")],
            ),
            "/endpoints": _get("Every endpoint: URL, git's and the live traffic split, health", listing),
            "/registry": _get(
                "Models and images: versions, tags, aliases and alias history, lineage, protection",
                {
                    "type": "object",
                    "properties": {
                        "present": {"type": "boolean"},
                        "models": {"type": "array"},
                        "images": {"type": "array"},
                        "aliases": _OBJ,
                    },
                },
            ),
            "/history": _get(
                "The apply timeline, newest first",
                {"type": "object", "properties": {"present": {"type": "boolean"}, "actions": {"type": "array"}}},
                [_param("limit", description="1-1000, default 200"), _param("resource", description="KIND/NAME")],
            ),
            "/monitoring/{name}": _get(
                "Request rate, error rate, p50/p99 points over time and per-feature PSI against the baseline",
                {
                    "type": "object",
                    "properties": {"points": _OBJ, "drift": {"type": ["object", "null"]}, "error": _NSTR},
                },
                [_param("name", "path"), _param("since", description="window of collected data, e.g. 30m, 1h")],
            ),
            "/plan": _get(
                "The current plan against live state (as `plan --format markdown`) and drift",
                {
                    "type": "object",
                    "properties": {"plan": {"type": ["object", "null"]}, "drift": {"type": ["object", "null"]}},
                },
            ),
            "/plan/pr": _get(
                "A pull request's plan between two git revisions (as `plan --base --format markdown`)",
                {"type": "object", "properties": {"markdown": _STR, "plan": _OBJ}},
                [_param("base", description="required"), _param("head", description="default HEAD")],
            ),
            "/openapi.json": _get("This document", _OBJ),
        },
        "security": [{"token": []}, {}],
    }
