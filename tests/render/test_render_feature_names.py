"""A Model's signature may name the columns of an input (`features`): validate checks the names
against the shape, render puts them into the image's config.json, the runtime reads them, and a
model that declares none renders exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.runtime.loaders import load_model
from compiler.runtime.settings import load_image_config
from compiler.targets import TARGET_TYPES

FILES = {
    "modelctl.yaml": "apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {name: t}\nspec:\n  targets: {local: {type: docker}}\n",
    "models/m.yaml": (
        "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: reg}\nspec:\n  framework: custom\n"
        "  path: artifacts/reg.joblib\n  signature:\n    inputs:\n"
        "      - {name: data, dtype: float64, shape: SHAPE FEATURES}\n"
    ),
    "images/i.yaml": (
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\nspec:\n  models: [reg]\n"
        "  environment: curated/sklearn\n  scoring: {script: score.py}\n"
    ),
    "score.py": "def init():\n    pass\n\ndef run(raw):\n    return []\n",
    "artifacts/reg.joblib": "never unpickled\n",
}


def _repo(tmp_path: Path, shape: str, features: str) -> Path:
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        text = text.replace("SHAPE", shape).replace("FEATURES", f", features: {features}" if features else "")
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_feature_names_reach_the_runtime(tmp_path):
    root = _repo(tmp_path, "[-1, 3]", "[rooms, area, age]")
    out = tmp_path / "out"
    render_graph(compile_repo(root).require(), out, types=TARGET_TYPES)
    config = out / "images" / "scorer" / "config.json"
    [entry] = json.loads(config.read_text())["models"]
    assert entry["signature"]["inputs"][0]["features"] == ["rooms", "area", "age"]
    _, [cfg] = load_image_config(config)
    assert load_model(cfg).column_names() == {"data": ("rooms", "area", "age")}


def test_a_signature_without_names_renders_as_before(tmp_path):
    root = _repo(tmp_path, "[-1, 3]", "")
    out = tmp_path / "out"
    render_graph(compile_repo(root).require(), out, types=TARGET_TYPES)
    [entry] = json.loads((out / "images" / "scorer" / "config.json").read_text())["models"]
    assert entry["signature"]["inputs"] == [{"name": "data", "dtype": "float64", "shape": [-1, 3]}]


def test_names_that_do_not_fit_the_shape_are_errors(tmp_path):
    for shape, features, said in (
        ("[-1, 4]", "[rooms, area, age]", "features has 3 names but the last dimension of shape [-1, 4] is 4"),
        ("[-1]", "[rooms]", "shape [-1] has no columns"),
        ("[-1, 2]", "[rooms, rooms]", "'rooms' named twice"),
    ):
        diagnostics = compile_repo(_repo(tmp_path / shape.replace(" ", ""), shape, features)).diagnostics
        text = " ".join(f"{d.location} {d.message}" for d in diagnostics)
        assert said in text and "models/m.yaml" in text, text
        # located at the `features` field, not at the whole input
        assert [d.path for d in diagnostics] == ["spec.signature.inputs.0.features"], text
