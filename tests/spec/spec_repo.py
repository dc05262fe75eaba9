"""A small valid repo to break one defect at a time (line numbers below are relied on by tests)."""

from __future__ import annotations

from pathlib import Path

BASE_REPO: dict[str, str] = {
    "modelctl.yaml": """\
apiVersion: modelctl.io/v1
kind: Workspace
metadata:
  name: team
spec:
  targets:
    local:
      type: docker
    prod:
      type: kubernetes
""",
    "models/m.yaml": """\
apiVersion: modelctl.io/v1
kind: Model
metadata:
  name: iris
spec:
  framework: sklearn
  path: artifacts/iris.joblib
""",
    "images/i.yaml": """\
apiVersion: modelctl.io/v1
kind: Image
metadata:
  name: scorer
spec:
  models: [iris@latest]
  environment: curated/sklearn
""",
    "deployments/d.yaml": """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: blue
spec:
  image: scorer
  target: prod
  replicas: 2
---
apiVersion: modelctl.io/v1
kind: Deployment
metadata:
  name: green
spec:
  image: scorer
  target: prod
""",
    "endpoints/e.yaml": """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata:
  name: web
spec:
  target: prod
  traffic: {blue: 90, green: 10}
""",
    "artifacts/iris.joblib": "not really a pickle: the compiler never loads it\n",
}


def write_repo(root: Path, files: dict[str, str | None]) -> Path:
    for rel, text in files.items():
        path = root / rel
        if text is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
