"""Render, validate and plan at several repo sizes, with the Helm engine and kustomize on the same objects.

Per size N (deployments; the render benchmark's repo: 10 models/images, half autoscaled, N/10 endpoints):
- validate: `compile_repo` (discover, parse, schema-validate, resolve, hash artifacts, fingerprint);
- cold render: `render_graph` into a new folder (nothing to keep), then a warm render into the same
  folder (unchanged repo, 3 times) and, once, after one model file changed (N/10 deployments depend on it);
- Helm: the equivalent chart (peers/helm_chart.py) loaded and rendered by Helm's engine in its own
  venv, each run interleaved with a modelctl run; both outputs parse to the same objects (checked);
- `kubectl kustomize` over the rendered objects, up to --kustomize-max deployments (it is quadratic);
- plan: a docker-target repo of N deployments against an empty engine (every deployment a creation).
Run alone: `python benchmarks/sweep_bench.py [--sizes 100,1000] [--repeat 3]` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import plan_bench  # noqa: E402
import render_bench  # noqa: E402
from peers import helm_chart, venvs  # noqa: E402

from compiler.pipeline import compile_repo  # noqa: E402
from compiler.plan import Scope  # noqa: E402
from compiler.render import render_graph  # noqa: E402
from compiler.targets import TARGET_TYPES  # noqa: E402
from compiler.workflow import Session  # noqa: E402

HELM_RENDER = ROOT / "benchmarks" / "peers" / "helm_render.py"
WARM_PER_COLD = 3  # warm renders are short: more samples of them


def helm_run(helm_py: Path, chart: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [str(helm_py), str(HELM_RENDER), str(chart), str(out)], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(f"helm render failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def timed(fn, cpu: list | None = None):
    """(wall seconds, value); with `cpu`, also appends the process's CPU seconds (all threads)."""
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    if cpu is not None:
        cpu.append(time.process_time() - c0)
    return time.perf_counter() - t0, value


def size_run(n: int, repeat: int, helm_py: Path | None, kustomize: bool, check: bool) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"sweep-{n}-"))
    try:
        repo = tmp / "repo"
        render_bench.generate(repo, n)
        validate, graph = [], None
        for _ in range(repeat):
            dt, graph = timed(lambda: compile_repo(repo).require())
            validate.append(dt)
        assert graph is not None
        if helm_py:
            helm_chart.write_chart(graph, tmp / "chart")
        cold, warm, helm, helm_render_only, objects = [], [], [], [], 0
        cold_cpu: list[float] = []
        helm_cpu: list[float] = []
        out = tmp / "out"
        for i in range(repeat):
            out = tmp / f"out-{i}"
            dt, res = timed(lambda out=out: render_graph(graph, out, types=TARGET_TYPES), cold_cpu)
            assert res.rendered == set(res.nodes), "a cold render kept files"
            cold.append(dt)
            objects = res.kubernetes_objects
            for _ in range(WARM_PER_COLD):
                dt, again = timed(lambda out=out: render_graph(graph, out, types=TARGET_TYPES))
                assert again.rendered == set() and again.files == res.files
                warm.append(dt)
            if helm_py:
                h = helm_run(helm_py, tmp / "chart", tmp / "helm-out")
                helm.append(h["times"][0])
                helm_render_only.append(h["render_times"][0])
                helm_cpu.append(h["cpu_times"][0])
                assert h["objects"] == objects, (h["objects"], objects)
            if i < repeat - 1:
                shutil.rmtree(out)
        same = None
        if helm_py and check:
            same = helm_chart.same_objects(
                helm_chart.objects_in(tmp / "helm-out"), helm_chart.objects_in(out / "kubernetes")
            )
        (repo / "artifacts" / "model-3.bin").write_bytes(os.urandom(256))
        changed_graph = compile_repo(repo).require()
        change_s, changed = timed(lambda: render_graph(changed_graph, out, types=TARGET_TYPES))
        dependents = {"Model/model-3"} | {
            d.id for d in changed_graph.downstream("Model/model-3") if not d.id.startswith("Endpoint/")
        }
        result = {
            "deployments": n,
            "objects": objects,
            "files": len(res.files),
            "validate_s": validate,
            "render_cold_s": cold,
            "render_cold_cpu_s": cold_cpu,
            "helm_cpu_s": helm_cpu,
            "render_warm_s": warm,
            "one_model_change_s": change_s,
            "one_model_change_rendered": len(changed.rendered),
            "one_model_change_only_dependents": changed.rendered == dependents,
            "nodes": len(res.nodes),
            "helm_s": helm,
            "helm_render_only_s": helm_render_only,
            "helm_same_objects": same,
        }
        if kustomize:
            base = tmp / "base"
            base.mkdir()
            render_bench.kustomize_base(out, base)
            with open(tmp / "kustomized.yaml", "wb") as sink:
                dt, _ = timed(
                    lambda: subprocess.run(
                        [render_bench.KUBECTL, "kustomize", str(base)], stdout=sink, check=True, timeout=1200
                    )
                )
            result["kustomize_s"] = [dt]
            result["kustomize_objects"] = (tmp / "kustomized.yaml").read_text().count("\napiVersion: ") + 1
        result["plan_s"] = plan_times(tmp / "plan-repo", n, repeat)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def plan_times(root: Path, n: int, repeat: int) -> list[float]:
    root.mkdir(parents=True)
    plan_bench.write_repo(root, "sweep" + uuid.uuid4().hex[:6], n)
    times = []
    for _ in range(repeat):

        def plan():
            with Session.open(root, Scope()) as s:
                return s.plan()

        dt, p = timed(plan)
        assert len(p.changes) >= n, "every deployment should be a creation"
        times.append(dt)
    return times


def sweep(sizes: list[int], repeat: int, kustomize_max: int, check_max: int) -> dict:
    helm_py, helm_version = None, None
    try:
        venv, helm_version = venvs.ensure("helm")
        helm_py = venv / "bin/python"
    except (subprocess.CalledProcessError, OSError) as err:
        print(f"Helm peer unavailable: {err}", file=sys.stderr)
    has_kubectl = shutil.which(render_bench.KUBECTL) is not None or Path(render_bench.KUBECTL).exists()
    runs = [size_run(n, repeat, helm_py, has_kubectl and n <= kustomize_max, n <= check_max) for n in sizes]
    return {"sizes": runs, "helm_version": helm_version, "kubectl": _kubectl_version() if has_kubectl else None}


def _kubectl_version() -> str | None:
    try:
        out = subprocess.run([render_bench.KUBECTL, "version", "--client"], capture_output=True, text=True).stdout
    except OSError:
        return None
    return " / ".join(line.split(": ", 1)[-1] for line in out.splitlines() if ": " in line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kustomize-max", type=int, default=100)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(sweep(sizes, args.repeat, args.kustomize_max, check_max=max(sizes)), indent=2))


if __name__ == "__main__":
    main()
