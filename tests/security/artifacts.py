"""Parse rendered artifacts back, the way their consumers read them, into comparable shapes."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any, Iterator

import yaml


def dockerfile_instructions(text: str) -> list[str]:
    """Logical instructions as Docker's parser sees them: comments dropped, '\\' continuations joined."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    if current.strip():
        out.append(current.strip())
    return out


_ENV = re.compile(r'^ENV ([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*")$')
_LABEL = re.compile(r'^LABEL ([a-z0-9][a-z0-9._/-]*)=("(?:[^"\\]|\\.)*")$')


def dockerfile_shape(text: str) -> dict[str, Any]:
    """Instruction keywords in order, every RUN/FROM/COPY verbatim, ENV and LABEL keys (values checked quoted)."""
    shape: dict[str, Any] = {"keywords": [], "verbatim": [], "env": [], "labels": []}
    for ins in dockerfile_instructions(text):
        keyword = ins.split(None, 1)[0].upper()
        shape["keywords"].append(keyword)
        if keyword == "ENV" and "\n" not in ins and _ENV.match(ins):
            shape["env"].append(_ENV.match(ins).group(1))
        elif keyword == "LABEL":
            match = _LABEL.match(ins)
            assert match, f'a LABEL that is not KEY="quoted value": {ins!r}'
            shape["labels"].append(match.group(1))
        elif keyword in ("RUN", "COPY", "USER", "WORKDIR", "HEALTHCHECK", "CMD", "EXPOSE"):
            shape["verbatim"].append(ins)
        elif keyword == "ENV":
            shape["verbatim"].append(ins)  # the template's own multi-variable ENV
    return shape


def walk_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from walk_keys(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_keys(v)


def walk_env(value: Any) -> Iterator[tuple[str, str]]:
    """Environment variables anywhere in a manifest: Kubernetes `env: [{name, value}]`, IoT Edge `env: {K: {value}}`,
    Docker `Env: ["K=V"]`."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "env" and isinstance(v, list):
                for item in v:
                    if isinstance(item, dict) and "name" in item:
                        yield item["name"], json.dumps(item.get("value", item.get("valueFrom")), sort_keys=True)
            elif k == "env" and isinstance(v, dict):
                for name, item in v.items():
                    yield name, json.dumps(item, sort_keys=True)
            elif k == "Env" and isinstance(v, list):
                for item in v:
                    name, _, val = str(item).partition("=")
                    yield name, val
            if k == "createOptions" and isinstance(v, str):  # IoT Edge: createOptions is a JSON string
                try:
                    yield from walk_env(json.loads(v))
                except ValueError:
                    pass
            yield from walk_env(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk_env(v)


def parsed(path: Path) -> Any:
    """The file as its consumer parses it (YAML stream, JSON, tar member list, text lines)."""
    data = path.read_bytes()
    name = path.name
    if name.endswith(".yaml"):
        return list(yaml.safe_load_all(data.decode("utf-8")))
    if name.endswith(".json"):
        return json.loads(data)
    if name.endswith(".tar.gz"):
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = {}
            for m in tar.getmembers():
                raw = tar.extractfile(m).read() if m.isfile() else b""
                members[m.name] = _member(m.name, raw)
            return members
    return data.decode("utf-8", errors="replace")


def _member(name: str, raw: bytes) -> Any:
    if name.endswith(".json"):
        return json.loads(raw)
    if name.endswith((".yaml", ".yml")):
        return list(yaml.safe_load_all(raw.decode("utf-8")))
    return None
