"""The checked-in JSON Schemas are current and accept every example document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from compiler import schemas
from compiler.paths import PROJECT_ROOT, SCHEMAS_DIR

EXAMPLE_FILES = sorted(
    p for p in (PROJECT_ROOT / "examples").rglob("*.yaml") if "stages" not in p.parts and "ci" not in p.parts
)
CURATED = sorted((PROJECT_ROOT / "environments").glob("*.yaml"))


def _documents(path: Path):
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d is not None]


@pytest.mark.parametrize("name", sorted(schemas.generators()))
def test_checked_in_schema_is_current(name):
    path = SCHEMAS_DIR / f"{name}.json"
    assert path.exists(), f"schemas/{name}.json is missing: run `modelctl schema --write`"
    assert path.read_text() == schemas.dumps(schemas.generators()[name]()), (
        f"schemas/{name}.json is stale: run `modelctl schema --write` and commit the result"
    )


@pytest.mark.parametrize("name", sorted(schemas.generators()))
def test_schema_is_valid_draft_2020_12(name):
    Draft202012Validator.check_schema(json.loads((SCHEMAS_DIR / f"{name}.json").read_text()))


@pytest.mark.parametrize("path", EXAMPLE_FILES + CURATED, ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_every_example_document_validates(path):
    any_schema = Draft202012Validator(json.loads((SCHEMAS_DIR / "any.json").read_text()))
    for doc in _documents(path):
        kind_schema = Draft202012Validator(json.loads((SCHEMAS_DIR / f"{doc['kind'].lower()}.json").read_text()))
        assert list(kind_schema.iter_errors(doc)) == []
        assert list(any_schema.iter_errors(doc)) == []


def test_schema_rejects_unknown_fields():
    validator = Draft202012Validator(json.loads((SCHEMAS_DIR / "model.json").read_text()))
    doc = {
        "apiVersion": "modelctl.io/v1",
        "kind": "Model",
        "metadata": {"name": "m"},
        "spec": {"framework": "sklearn", "path": "a", "framwork": "x"},
    }
    assert [e.message for e in validator.iter_errors(doc)]


def test_examples_carry_an_editor_schema_hint():
    for path in EXAMPLE_FILES:
        text = path.read_text()
        if "apiVersion:" in text:
            assert "yaml-language-server: $schema=" in text, path
            hint = text.split("$schema=", 1)[1].split()[0]
            assert (path.parent / hint).resolve().exists(), f"{path}: {hint} does not exist"
