"""`modelctl init`: a small, working GitOps repo that validates out of the box.

The scaffold uses a custom scoring script and a JSON weights file, so it needs no ML library to
validate, render or serve; replace them with your own model.
"""

from __future__ import annotations

from pathlib import Path

from .atomic import atomic_write_text


class ScaffoldError(Exception):
    pass


FILES: dict[str, str] = {
    "modelctl.yaml": """\
# yaml-language-server: $schema=https://modelctl.io/schemas/workspace.json
apiVersion: modelctl.io/v1
kind: Workspace
metadata:
  name: {name}
spec:
  registry: sqlite:///.modelctl/registry.db   # or postgresql://user@host/db for a team
  artifacts: file://.modelctl/artifacts        # or oci://HOST/REPO
  imageRegistry: 127.0.0.1:5000/{name}
  targets:
    local:
      type: docker
""",
    "models/example.yaml": """\
# yaml-language-server: $schema=https://modelctl.io/schemas/model.json
apiVersion: modelctl.io/v1
kind: Model
metadata:
  name: example
  tags: {{stage: demo}}
spec:
  framework: custom
  path: artifacts/weights.json
  signature:
    inputs:
      - {{name: features, dtype: float32, shape: [-1, 2]}}
    outputs:
      - {{name: score, dtype: float32, shape: [-1]}}
""",
    "images/example-scorer.yaml": """\
# yaml-language-server: $schema=https://modelctl.io/schemas/image.json
apiVersion: modelctl.io/v1
kind: Image
metadata:
  name: example-scorer
spec:
  models: [example@latest]
  environment: curated/python
  scoring:
    script: score/score.py
""",
    "deployments/example-local.yaml": """\
# yaml-language-server: $schema=https://modelctl.io/schemas/deployment.json
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: example-local
spec:
  image: example-scorer
  target: local
  auth: {{mode: key, secretRef: example-keys}}
""",
    "artifacts/weights.json": '{{"weights": [0.5, -0.25], "bias": 0.1}}\n',
    "score/score.py": '''\
"""Scoring script (Azure ML convention): init() once, run(raw) per request.

`raw` is the request body as JSON text, e.g. {{"data": [[1.0, 2.0]]}}. The model file's path is in
MODELCTL_MODEL_PATH (and its folder in MODELCTL_MODEL_DIR / AZUREML_MODEL_DIR).
"""

import json
import os

weights = None


def init():
    global weights
    with open(os.environ["MODELCTL_MODEL_PATH"]) as fh:
        weights = json.load(fh)


def run(raw):
    rows = json.loads(raw)["data"]
    w, b = weights["weights"], weights["bias"]
    return [sum(x * y for x, y in zip(row, w)) + b for row in rows]
''',
    ".gitignore": "# modelctl state: secrets, the local registry, published bundles, run copies. Never commit it.\n"
    ".modelctl/\n# render output\nout/\n",
}


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ScaffoldError(f"{directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise ScaffoldError(f"{directory} is not empty; use --force to write into it anyway")
    name = _workspace_name(directory)
    written = []
    for rel, template in FILES.items():
        path = directory / rel
        if path.exists() and not force:
            raise ScaffoldError(f"{path} already exists")
        atomic_write_text(path, template.format(name=name))
        written.append(path)
    return written


def _workspace_name(directory: Path) -> str:
    import re

    raw = directory.resolve().name.lower()
    name = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")[:63].strip("-")
    return name or "models"
