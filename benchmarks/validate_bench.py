"""Validate a generated repo of 1,000 models, 1,000 images and 2,000 deployments.

Prints the wall time of `modelctl validate` (in-process and as a CLI process) and, as a baseline
measured in the same run, the time ruamel.yaml alone takes to parse the same files.
Target: validate under 2 s on the reference machine (2 cores). Run: .venv/bin/python benchmarks/validate_bench.py
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKSPACE = """apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: bench}
spec:
  targets:
    local: {type: docker}
    prod: {type: kubernetes, namespace: models}
"""
MODEL = """apiVersion: modelctl.io/v1
kind: Model
metadata:
  name: model-%(i)d
  tags: {team: bench, index: "%(i)d"}
spec:
  framework: sklearn
  path: artifacts/model-%(i)d.joblib
  signature:
    inputs: [{name: features, dtype: float32, shape: [-1, 4]}]
    outputs: [{name: label, dtype: int64, shape: [-1]}]
"""
IMAGE = """apiVersion: modelctl.io/v1
kind: Image
metadata: {name: image-%(i)d}
spec:
  models: [model-%(i)d@latest]
  environment: curated/sklearn
"""
DEPLOYMENT = """apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: deploy-%(i)d-%(j)d}
spec:
  image: image-%(i)d
  target: %(target)s
  replicas: 2
  autoscale: {min: 2, max: 5}
  auth: {mode: key, secretRef: keys}
"""


def generate(root: Path, models: int, deployments_per_image: int) -> None:
    (root / "artifacts").mkdir(parents=True)
    (root / "modelctl.yaml").write_text(WORKSPACE)
    for sub in ("models", "images", "deployments"):
        (root / sub).mkdir()
    for i in range(models):
        (root / "artifacts" / f"model-{i}.joblib").write_bytes(f"model {i}".encode() * 64)
        (root / "models" / f"model-{i}.yaml").write_text(MODEL % {"i": i})
        (root / "images" / f"image-{i}.yaml").write_text(IMAGE % {"i": i})
        docs = [DEPLOYMENT % {"i": i, "j": j, "target": ("local", "prod")[j % 2]} for j in range(deployments_per_image)]
        (root / "deployments" / f"deploy-{i}.yaml").write_text("---\n".join(docs))


def time_it(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--deployments-per-image", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from ruamel.yaml import YAML

    from compiler.load import discover
    from compiler.pipeline import compile_repo

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        generate(root, args.models, args.deployments_per_image)
        files = discover(root)

        def parse_only() -> None:
            yaml = YAML(typ="rt")
            for f in files:
                list(yaml.load_all(f.read_text()))

        def validate() -> None:
            result = compile_repo(root)
            assert result.ok, result.diagnostics[:3]

        baseline = time_it(parse_only, args.repeat)
        in_process = time_it(validate, args.repeat)
        cli = time_it(
            lambda: subprocess.run(
                [sys.executable, "-m", "compiler.cli.main", "validate", str(root)], check=True, capture_output=True
            ),
            args.repeat,
        )
        n_docs = 1 + args.models * 2 + args.models * args.deployments_per_image
        print(
            f"repo: {args.models} models, {args.models} images, {args.models * args.deployments_per_image} "
            f"deployments ({n_docs} documents in {len(files)} files)"
        )
        print(f"baseline  ruamel.yaml parse only : {baseline:6.3f} s")
        print(f"validate  in-process             : {in_process:6.3f} s  ({in_process / baseline:.2f}x parse-only)")
        print(f"validate  CLI process (wall)     : {cli:6.3f} s  ({cli / baseline:.2f}x parse-only)")
        print(f"target    < 2 s wall             : {'met' if cli < 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
