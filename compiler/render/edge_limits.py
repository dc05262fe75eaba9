"""IoT Edge size limits, pure: createOptions chunking and module-twin sizes.

- createOptions is one JSON string per module, cut into 512-character chunks (`createOptions`,
  `createOptions01` …); the IoT Edge agent reassembles them in order and accepts up to 100, but
  common tooling (the IoT Edge dev tool, VS Code extension, `iotedgedev`) reads only 8, so modelctl
  enforces 8 (4096 characters): a bundle every tool round-trips.
- IoT Hub caps the desired properties of one module twin at 32 KB and one property value at 4 KB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

CREATE_OPTIONS_CHUNK = 512
CREATE_OPTIONS_MAX_CHUNKS = 8  # createOptions + createOptions01 … createOptions07
TWIN_DESIRED_MAX_BYTES = 32 * 1024
PROPERTY_VALUE_MAX_BYTES = 4 * 1024
SYSTEM_MODULES = frozenset({"edgeagent", "edgehub"})  # compared lower-cased: IoT Edge's own modules


@dataclass(frozen=True)
class Problem:
    module: str  # the module (twin) it concerns
    message: str
    code: str


def create_options_text(create_options: dict) -> str:
    """The Docker create body as IoT Edge carries it: compact, sorted, ASCII (characters = bytes)."""
    return json.dumps(create_options, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chunk(text: str) -> list[str]:
    return [text[i : i + CREATE_OPTIONS_CHUNK] for i in range(0, len(text), CREATE_OPTIONS_CHUNK)] or ["{}"]


def chunk_keys(count: int) -> list[str]:
    return ["createOptions"] + [f"createOptions{i:02d}" for i in range(1, count)]


def create_options_problem(module: str, text: str) -> Problem | None:
    chunks = len(chunk(text))
    if chunks <= CREATE_OPTIONS_MAX_CHUNKS:
        return None
    return Problem(
        module,
        f"module '{module}': createOptions is {len(text)} characters ({chunks} chunks of {CREATE_OPTIONS_CHUNK}); "
        f"modelctl publishes at most {CREATE_OPTIONS_MAX_CHUNKS} chunks "
        f"({CREATE_OPTIONS_CHUNK * CREATE_OPTIONS_MAX_CHUNKS} characters), what common IoT Edge tooling reads",
        "edge-create-options",
    )


def reassemble(settings: dict) -> str:
    """createOptions back from its chunks, in order (what the IoT Edge agent does)."""
    keys = sorted(k for k in settings if k.startswith("createOptions"))
    return "".join(settings[k] for k in chunk_keys(len(keys)) if k in settings)


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    else:
        yield path, value


def twin_desired(twin: dict) -> dict:
    """A module twin's desired properties from its modulesContent entry (base or layered form)."""
    if "properties.desired" in twin:
        return twin["properties.desired"]
    prefix = "properties.desired."
    return {k[len(prefix) :]: v for k, v in twin.items() if k.startswith(prefix)}


def twin_problems(modules_content: dict) -> list[Problem]:
    """Every module twin of a deployment over the 32 KB desired-properties cap, and every property
    value over 4 KB (sizes as compact UTF-8 JSON)."""
    out: list[Problem] = []
    for module, twin in sorted(modules_content.items()):
        desired = twin_desired(twin)
        size = _size(desired)
        if size > TWIN_DESIRED_MAX_BYTES:
            out.append(
                Problem(
                    module,
                    f"module '{module}': its twin's desired properties are {size} bytes "
                    f"({size / 1024:.1f} KB); IoT Hub allows {TWIN_DESIRED_MAX_BYTES} bytes (32 KB)",
                    "edge-twin-size",
                )
            )
        for path, value in _leaves(desired, ""):
            value_size = _size(value)
            if value_size > PROPERTY_VALUE_MAX_BYTES:
                out.append(
                    Problem(
                        module,
                        f"module '{module}': desired property '{path}' is {value_size} bytes; IoT Hub allows "
                        f"{PROPERTY_VALUE_MAX_BYTES} bytes (4 KB) per property value",
                        "edge-property-size",
                    )
                )
    return out
