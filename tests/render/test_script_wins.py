"""An Image's scoring.script serves its models whatever their framework: the script is the user's
explicit choice, so a `framework: sklearn` model is not silently served by the built-in scorer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.runtime.loaders import CustomModel, load_model
from compiler.runtime.settings import load_image_config
from compiler.targets import TARGET_TYPES

FILES = {
    "modelctl.yaml": "apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {name: t}\nspec:\n  targets: {local: {type: docker}}\n",
    "models/m.yaml": "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: reg}\nspec:\n  framework: {framework}\n  path: artifacts/reg.joblib\n",
    "images/i.yaml": (
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\nspec:\n  models: [reg]\n"
        "  environment: curated/sklearn\n{scoring}"
    ),
    "score/score.py": (
        "import os\n\ndef init():\n    global where\n    where = os.environ['AZUREML_MODEL_DIR']\n\n"
        "def run(raw):\n    return {'scored_by': 'score.py', 'dir': os.path.basename(where)}\n"
    ),
    "artifacts/reg.joblib": "never unpickled: the script serves this model\n",
}


def _render(tmp_path: Path, framework: str, script: bool) -> Path:
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        text = text.replace("{framework}", framework).replace(
            "{scoring}", "  scoring: {script: score/score.py}\n" if script else ""
        )
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    out = tmp_path / "out"
    render_graph(compile_repo(root).require(), out, types=TARGET_TYPES)
    return out / "images" / "scorer" / "config.json"


@pytest.mark.parametrize("framework", ["sklearn", "onnx", "mlflow", "custom"])
def test_the_images_script_serves_a_model_of_any_framework(tmp_path, framework):
    config = _render(tmp_path, framework, script=True)
    [entry] = json.loads(config.read_text())["models"]
    assert (entry["framework"], entry["script"]) == (framework, "score/score.py")
    _, [cfg] = load_image_config(config)
    model = load_model(cfg)
    assert isinstance(model, CustomModel)
    answer = model.score(b'{"data": [[1, 2]]}', None)
    assert answer == {"scored_by": "score.py", "dir": Path(entry["path"]).parent.name}  # the model's own folder


def test_without_a_script_a_framework_model_keeps_its_built_in_loader(tmp_path):
    config = _render(tmp_path, "sklearn", script=False)
    [entry] = json.loads(config.read_text())["models"]
    assert "script" not in entry
    _, [cfg] = load_image_config(config)
    assert not cfg.script_wins and cfg.script is None


def test_a_hand_written_config_keeps_the_image_script_for_custom_models_only(tmp_path):
    (tmp_path / "m.joblib").write_text("x")
    (tmp_path / "s.py").write_text("def run(raw):\n    return 1\n")
    doc = {
        "schemaVersion": 1,
        "image": "x",
        "models": [{"name": "a", "version": "1", "framework": "sklearn", "path": "m.joblib"}],
        "scoring": {"script": "s.py"},
    }
    (tmp_path / "config.json").write_text(json.dumps(doc))
    _, [cfg] = load_image_config(tmp_path / "config.json")
    assert not cfg.script_wins  # only a model's own `script` wins: modelctl writes one per model
