"""A repo that uses every kind and every field, and the walkers the probes share.

`DOCUMENTS` is the baseline: valid, rendering to every artifact type (a Dockerfile and
requirements, Kubernetes manifests, an edge bundle, an FPGA config). Every string it holds — and
every key of a user-named mapping — is a *slot* a probe overwrites with a hostile value.
`model_slots()` lists the string slots the pydantic models declare, so a field added to a kind
without a value here fails `test_every_string_field_is_probed`.
"""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any, Iterator, Union

from pydantic import BaseModel

from compiler.spec import KINDS

API = "modelctl.io/v1"
SECRET_VALUES = {
    ".modelctl/secrets/keys": "SECRET-PROBE-KEYS-4242",
    ".modelctl/secrets/db/password": "SECRET-PROBE-DB-4242",
}
SHA = "3f2a9c1e5d7b8a4f6e0c2d1b9a8f7e6d5c4b3a291807f6e5d4c3b2a1908f7e6d"


def _doc(kind: str, name: str, spec: dict, **meta) -> dict:
    meta = {"labels": {"probe": "yes"}, "tags": {"probe": "yes"}, "description": f"probe {kind}", **meta}
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name, **meta}, "spec": spec}


DOCUMENTS: dict[str, dict] = {
    "modelctl.yaml": _doc(
        "Workspace",
        "team",
        {
            "registry": "sqlite:///.modelctl/registry.db",
            "artifacts": "file://.modelctl/artifacts",
            "imageRegistry": "127.0.0.1:5000/team",
            "baseImages": {"python:3.11-slim": "modelctl/python-base:bookworm"},
            "exclude": ["ci/*.yml"],
            "targets": {
                "local": {
                    "type": "docker",
                    "host": "unix:///var/run/docker.sock",
                    "bindAddress": "127.0.0.1",
                    "portRange": [18000, 18999],
                },
                "prod": {
                    "type": "kubernetes",
                    "context": "prod",
                    "kubeconfig": "kube/config",
                    "namespace": "models",
                    "gateway": "gateways/public",
                    "gatewayClass": "public",
                },
                "factory": {
                    "type": "edge",
                    "publish": "file://.modelctl/published/edge",
                    "hub": "factory-hub",
                    "registryCredentials": "regcred",
                },
                "rack": {"type": "fpga", "publish": "file://.modelctl/published/fpga"},
            },
        },
        labels={"team": "ml"},
        tags={"owner": "ml"},
        description="probe workspace",
    ),
    "models/m.yaml": _doc(
        "Model",
        "m",
        {
            "framework": "custom",
            "path": "artifacts/m.json",
            "signature": {
                "inputs": [{"name": "x", "dtype": "float32", "shape": [-1, 2], "features": ["a", "b"]}],
                "outputs": [{"name": "y", "dtype": "float32", "shape": [-1, 1], "features": ["score"]}],
            },
            "accelerator": {"architecture": "int8-dpu", "path": "artifacts/m.int8"},
        },
        labels={"task": "demo"},
        tags={"stage": "demo"},
        description="a model",
    ),
    "models/remote.yaml": _doc(
        "Model", "remote", {"framework": "onnx", "uri": "https://artifacts.example.com/m.onnx", "sha256": SHA}
    ),
    "envs/base.yaml": _doc(
        "Environment",
        "base-env",
        {
            "base": "python:3.11-slim",
            "python": "3.11",
            "pip": ["numpy==2.4.6"],
            "apt": ["libgomp1"],
            "env": {"GREETING": "hello"},
        },
    ),
    "envs/child.yaml": _doc("Environment", "child-env", {"inherit": "base-env", "env": {"CHILD": "1"}}),
    "images/scorer.yaml": _doc(
        "Image",
        "scorer",
        {
            "models": ["m@latest"],
            "environment": "child-env",
            "scoring": {"script": "score/score.py"},
            "port": 8080,
        },
        description="the probe scorer",
    ),
    "images/pre.yaml": _doc("Image", "pre", {"prebuilt": "127.0.0.1:5000/team/pre:1"}),
    "deployments/dock.yaml": _doc(
        "Deployment",
        "dock",
        {
            "image": "scorer",
            "target": "local",
            "resources": {"cpu": "500m", "memory": "512Mi"},
            "auth": {"mode": "key", "secretRef": "keys"},
            "dataCollection": {"enabled": True, "sink": "file:///var/lib/modelctl/collected", "redact": ["ssn"]},
            "env": {"LOG_LEVEL": "info"},
            "secretEnv": {"DB_PASSWORD": {"secretRef": "db", "key": "password"}},
        },
        labels={"env": "dev"},
    ),
    "deployments/kube.yaml": _doc(
        "Deployment",
        "kube",
        {
            "image": "scorer",
            "target": "prod",
            "replicas": 2,
            "autoscale": {"min": 2, "max": 5},
            "auth": {"mode": "key", "secretRef": "keys"},
            "tls": {"secretRef": "kube-tls"},
            "dataCollection": {"enabled": True, "sink": "https://collector.example.com/ingest", "redact": ["ssn"]},
            "env": {"LOG_LEVEL": "info"},
            "secretEnv": {"DB_PASSWORD": {"secretRef": "db", "key": "password"}},
        },
        labels={"env": "prod"},
    ),
    "deployments/canary.yaml": _doc("Deployment", "canary", {"image": "pre", "target": "prod"}),
    "deployments/edge.yaml": _doc(
        "Deployment",
        "edge",
        {
            "image": "scorer",
            "target": "factory",
            "env": {"LOG_LEVEL": "debug"},
            "dataCollection": {"enabled": True, "sink": "file:///var/lib/modelctl/collected"},
            "edge": {
                "targetCondition": "tags.site='factory-1'",
                "priority": 1,
                "modules": {
                    "camera": {
                        "image": "127.0.0.1:5000/team/camera:1",
                        "env": {"FPS": "30"},
                        "createOptions": {"HostConfig": {"Privileged": False}},
                    }
                },
                "routes": {"up": "FROM /messages/modules/edge/outputs/* INTO $upstream"},
            },
        },
    ),
    "deployments/fpga.yaml": _doc(
        "Deployment",
        "fpga",
        {
            "image": "scorer",
            "target": "rack",
            "fpga": {
                "device": {"family": "alveo", "part": "u250"},
                "bitstream": {
                    "uri": "https://artifacts.example.com/dpu.xclbin",
                    "sha256": SHA,
                    "architecture": "int8-dpu",
                },
            },
        },
    ),
    "endpoints/web.yaml": _doc(
        "Endpoint",
        "web",
        {
            "target": "prod",
            "traffic": {"kube": 90, "canary": 10},
            "mirror": {"deployment": "canary", "percent": 5},
            "path": "/probe",
            "hostnames": ["probe.example.com"],
            "tls": {"secretRef": "web-tls"},
        },
    ),
}
FILES: dict[str, str] = {
    "artifacts/m.json": '{"weights": [0.5, -0.25], "bias": 0.1}\n',
    "artifacts/m.int8": "compiled\n",
    "score/score.py": "def init():\n    pass\n\n\ndef run(raw):\n    return raw\n",
    **SECRET_VALUES,
}


def write(root: Path, documents: dict[str, dict], files: dict[str, str] = FILES) -> Path:
    """JSON is YAML 1.2: every document is written as one JSON object (exact escapes for any string)."""
    for rel, text in {**files, **{r: json.dumps(d, indent=1) + "\n" for r, d in documents.items()}}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# -- slots -----------------------------------------------------------------------------------


def _options(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _options(typing.get_args(tp)[0])
    if origin is Union or str(origin) == "<class 'types.UnionType'>":
        return [o for a in typing.get_args(tp) for o in _options(a)]
    return [tp]


def _is_text(tp: Any) -> bool:
    return tp is str


def _walk(tp: Any, data: Any, path: tuple, norm: tuple) -> Iterator[tuple[tuple, tuple, str]]:
    """(path in the data, the same path with list indices as [] and user-chosen keys as *, value|key)."""
    options = _options(tp)
    if isinstance(data, str):
        if any(_is_text(o) for o in options):
            yield path, norm, "value"
        return
    if isinstance(data, list):
        items = [typing.get_args(o)[0] for o in options if typing.get_origin(o) is list]
        for i, item in enumerate(data):
            for t in items:
                yield from _walk(t, item, path + (i,), norm + ("[]",))
        return
    if not isinstance(data, dict):
        return
    models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
    if models:
        if "type" in data and len(models) > 1:  # a discriminated union (targets)
            models = [
                m
                for m in models
                if "type" in m.model_fields and data["type"] in typing.get_args(m.model_fields["type"].annotation)
            ]
        model = models[0]
        for key, value in data.items():
            for name, f in model.model_fields.items():
                if key in (name, f.alias):
                    yield from _walk(f.annotation, value, path + (key,), norm + (key,))
        return
    maps = [o for o in options if typing.get_origin(o) is dict and typing.get_args(o)]
    if not maps:
        return  # an untyped mapping (edge createOptions): passed through as JSON, see docs/security.md
    key_t, value_t = typing.get_args(maps[0])
    for key, value in data.items():
        if any(_is_text(o) for o in _options(key_t)):
            yield path + (key,), norm + ("*",), "key"
        yield from _walk(value_t, value, path + (key,), norm + ("*",))


def slots(documents: dict[str, dict] = DOCUMENTS) -> list[tuple[str, tuple, str, str]]:
    """(file, path, value|key, normalized name) of every string slot of the documents."""
    out = []
    for file, doc in documents.items():
        for path, norm, where in _walk(KINDS[doc["kind"]], doc, (), ()):
            if path and path[-1] in ("apiVersion", "kind"):
                continue
            out.append((file, path, where, normalized(doc["kind"], norm, where)))
    return out


def normalized(kind: str, norm: tuple, where: str) -> str:
    return kind + ":" + ".".join(map(str, norm)) + (":key" if where == "key" else "")


def model_slots() -> set[str]:
    """Every free-text string slot the spec models declare (Literals are choices, not text)."""
    found: set[str] = set()

    def visit(kind: str, tp: Any, norm: tuple, seen: tuple) -> None:
        for o in _options(tp):
            if _is_text(o):
                found.add(normalized(kind, norm, "value"))
            elif typing.get_origin(o) is list:
                visit(kind, typing.get_args(o)[0], norm + ("[]",), seen)
            elif typing.get_origin(o) is dict and typing.get_args(o):
                key_t, value_t = typing.get_args(o)
                if any(_is_text(k) for k in _options(key_t)):
                    found.add(normalized(kind, norm + ("*",), "key"))
                visit(kind, value_t, norm + ("*",), seen)
            elif isinstance(o, type) and issubclass(o, BaseModel) and o not in seen:
                for name, f in o.model_fields.items():
                    visit(kind, f.annotation, norm + (f.alias or name,), seen + (o,))

    for kind, cls in KINDS.items():
        visit(kind, cls, (), ())
    return {s for s in found if not s.endswith((":apiVersion", ":kind", ":$schema"))}


def get(data: Any, path: tuple) -> Any:
    for step in path:
        data = data[step]
    return data


def replaced(documents: dict[str, dict], file: str, path: tuple, where: str, payload: str) -> dict[str, dict]:
    """A deep copy of the documents with one slot set to `payload` (a key renamed, keeping its value)."""
    docs = json.loads(json.dumps(documents))
    parent = get(docs[file], path[:-1])
    if where == "key":
        items = list(parent.items())
        parent.clear()
        for k, v in items:
            parent[payload if k == path[-1] else k] = v
    else:
        parent[path[-1]] = payload
    return docs
