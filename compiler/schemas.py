"""JSON Schemas (draft 2020-12) generated from the pydantic models, checked in under schemas/.

Other artifacts register their own schema here (e.g. the plan document) so one command writes
them all and one test checks that every checked-in file is current.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from pydantic import TypeAdapter

from .atomic import atomic_write_text
from .paths import SCHEMAS_DIR
from .spec import KINDS, AnyDocument

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_ID = "https://modelctl.io/schemas/"

_EXTRA: dict[str, Callable[[], dict]] = {}


def register(name: str, generator: Callable[[], dict]) -> None:
    """Add a schema produced elsewhere (a plan document, an edge manifest…)."""
    _EXTRA[name] = generator


def _with_header(name: str, schema: dict, title: str) -> dict:
    return {**schema, "$schema": DRAFT, "$id": f"{SCHEMA_BASE_ID}{name}.json", "title": title}


def _kind_schema(kind: str) -> Callable[[], dict]:
    def generate() -> dict:
        schema = KINDS[kind].model_json_schema(by_alias=True, mode="validation")
        return _with_header(kind.lower(), schema, f"modelctl {kind}")

    return generate


def _any_schema() -> dict:
    schema = TypeAdapter(AnyDocument).json_schema(by_alias=True, mode="validation")
    return _with_header("any", schema, "Any modelctl document")


def generators() -> dict[str, Callable[[], dict]]:
    _load_plugins()
    table = {kind.lower(): _kind_schema(kind) for kind in KINDS}
    table["any"] = _any_schema
    table.update(_EXTRA)
    return table


def _load_plugins() -> None:
    """Modules that register schemas; imported lazily so `compiler.schemas` stays light."""
    import importlib

    for module in ("compiler.plan.document", "compiler.render.edge_schema"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as err:
            if not module.startswith(err.name or "\0"):
                raise


def dumps(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_all(folder: Path | None = None) -> list[Path]:
    folder = folder or SCHEMAS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, generate in sorted(generators().items()):
        path = folder / f"{name}.json"
        atomic_write_text(path, dumps(generate()))
        written.append(path)
    return written
