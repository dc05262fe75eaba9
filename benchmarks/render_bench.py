"""Render benchmark: 1,000 Kubernetes deployments (~5,600 objects) vs `kubectl kustomize` on the same objects.

    .venv/bin/python benchmarks/render_bench.py [--deployments 1000] [--repeat 3]

Generates a repo (10 models/images, N deployments on one kubernetes target, half autoscaled,
one endpoint per 10 deployments), times `render_graph` (graph → files on disk, published
atomically) and, in the same run, `kubectl kustomize` over the rendered objects laid out as a
kustomize base. Prints wall times, objects/s and the ratio. Best of --repeat render runs and --kustomize-repeat kustomize runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compiler.pipeline import compile_repo  # noqa: E402
from compiler.render import render_graph  # noqa: E402
from compiler.targets import TARGET_TYPES

MODELS = 10
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"


def generate(root: Path, deployments: int) -> None:
    (root / "artifacts").mkdir(parents=True)
    docs = [
        """apiVersion: modelctl.io/v1
kind: Workspace
metadata: {name: bench}
spec:
  imageRegistry: 127.0.0.1:5000/bench
  baseImages: {python:3.11-slim: modelctl/python-base:bookworm}
  targets:
    prod: {type: kubernetes, namespace: models, gateway: gateways/public}
"""
    ]
    for m in range(MODELS):
        (root / "artifacts" / f"model-{m}.bin").write_bytes(os.urandom(256))
        docs.append(f"""apiVersion: modelctl.io/v1
kind: Model
metadata: {{name: model-{m}}}
spec: {{framework: sklearn, path: artifacts/model-{m}.bin}}
---
apiVersion: modelctl.io/v1
kind: Image
metadata: {{name: image-{m}}}
spec: {{models: [model-{m}@latest], environment: curated/sklearn}}
""")
    (root / "modelctl.yaml").write_text("---\n".join(docs))
    folder = root / "deployments"
    folder.mkdir()
    for d in range(deployments):
        autoscale = "  autoscale: {min: 2, max: 8}\n" if d % 2 else ""
        (folder / f"dep-{d:04d}.yaml").write_text(f"""apiVersion: modelctl.io/v1
kind: Deployment
metadata: {{name: dep-{d:04d}, labels: {{team: t{d % 7}}}}}
spec:
  image: image-{d % MODELS}
  target: prod
  replicas: 2
  auth: {{mode: key, secretRef: keys-{d % 5}}}
  dataCollection: {{enabled: {str(d % 3 == 0).lower()}, sampling: 0.1}}
{autoscale}""")
    endpoints = root / "endpoints"
    endpoints.mkdir()
    for e in range(deployments // 10):
        a, b = 10 * e, 10 * e + 1
        (endpoints / f"ep-{e:03d}.yaml").write_text(f"""apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {{name: ep-{e:03d}}}
spec:
  target: prod
  path: /ep-{e:03d}
  traffic: {{dep-{a:04d}: 90, dep-{b:04d}: 10}}
""")


def kustomize_base(rendered: Path, base: Path) -> int:
    """Copy the rendered manifests into a kustomize base; returns the number of files listed."""
    files = sorted((rendered / "kubernetes").rglob("*.yaml"))
    lines = ["apiVersion: kustomize.config.k8s.io/v1beta1", "kind: Kustomization", "resources:"]
    for path in files:
        rel = path.relative_to(rendered / "kubernetes").as_posix()
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, base / rel)
        lines.append(f"- {rel}")
    (base / "kustomization.yaml").write_text("\n".join(lines) + "\n")
    return len(files)


def best(times: list[float]) -> float:
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="render runs (best counts)")
    parser.add_argument(
        "--kustomize-repeat",
        type=int,
        default=1,
        help="kustomize runs; one takes minutes at 1,000 deployments (it grows quadratically)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="render-bench-") as tmp:
        tmp = Path(tmp)
        generate(tmp / "repo", args.deployments)
        t0 = time.perf_counter()
        compiled = compile_repo(tmp / "repo")
        graph = compiled.require()
        compile_s = time.perf_counter() - t0

        render_times, objects = [], 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = render_graph(graph, tmp / "out", types=TARGET_TYPES, cache=False)  # cold every time
            render_times.append(time.perf_counter() - t0)
            objects = result.kubernetes_objects
        rendered_files = len(result.files)

        kustomize_base(tmp / "out", tmp / "base")
        kustomize_times = []
        for _ in range(args.kustomize_repeat):
            with open(tmp / "kustomized.yaml", "wb") as sink:
                t0 = time.perf_counter()
                subprocess.run([KUBECTL, "kustomize", str(tmp / "base")], stdout=sink, check=True, timeout=3600)
                kustomize_times.append(time.perf_counter() - t0)
        kustomized = (tmp / "kustomized.yaml").read_text().count("\napiVersion: ") + 1

    render_s, kustomize_s = best(render_times), best(kustomize_times)
    render_rate, kustomize_rate = objects / render_s, kustomized / kustomize_s
    print(f"deployments: {args.deployments}   Kubernetes objects: {objects}   files written: {rendered_files}")
    print(f"compile (load + validate + graph, not timed below): {compile_s:.2f} s")
    print(
        f"modelctl render:   {render_s:7.3f} s  {render_rate:10.0f} objects/s   (best of {args.repeat}: "
        + ", ".join(f"{t:.3f}" for t in render_times)
        + ")"
    )
    print(
        f"kubectl kustomize: {kustomize_s:7.3f} s  {kustomize_rate:10.0f} objects/s   ({kustomized} objects; best of "
        f"{args.kustomize_repeat}: " + ", ".join(f"{t:.3f}" for t in kustomize_times) + ")"
    )
    print(f"ratio (render objects/s ÷ kustomize objects/s): {render_rate / kustomize_rate:.1f}x   (target ≥ 10x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
