"""`make bench`: every benchmark in one run, each peer measured in the same run on the same input.

    .venv/bin/python benchmarks/run_all.py [--quick] [--out docs/benchmarks.md] [--json results.json]

Sections: render/validate/plan at 100 / 1,000 / 5,000 deployments vs the Helm engine and `kubectl
kustomize` (sweep_bench.py); serving vs MLflow and MLServer plus the in-process floor
(serving_bench.py); model-only image rebuild vs cold build (plan_bench.py); the Kubernetes no-op plan
(k8s_plan_bench.py). Rewrites docs/benchmarks.md: machine, date, versions, medians with min–max of the
repeated runs, ratios, the bars; figures this run did not measure are marked so (and the sections of
benchmarks/earlier.md, measured before, are appended under a heading that says so). Peers live in
their own venvs under ~/.cache/modelctl-bench (peers/venvs.py). --quick: smaller sizes, short runs,
no image build and no control plane — for developing the harness, not for the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import report  # noqa: E402
import serving_bench  # noqa: E402
import sweep_bench  # noqa: E402

FULL = {"sizes": [100, 1000, 5000], "repeat": 3, "kustomize_max": 200, "serve_duration": 10, "serve_repeat": 2}
QUICK = {"sizes": [100, 1000], "repeat": 2, "kustomize_max": 100, "serve_duration": 3, "serve_repeat": 1}
K8S_DEPLOYMENTS = 200


def sh(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict:
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
    os_name = re.search(r'PRETTY_NAME="([^"]+)"', Path("/etc/os-release").read_text())
    import numpy
    import sklearn
    import uvicorn

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem.group(1)) / 2**20) if mem else None,
        "os": os_name.group(1) if os_name else platform.platform(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "commit": sh("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "dirty": bool(sh("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")),
        "load_start": os.getloadavg(),
        "versions": {
            "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__,
            "uvicorn": uvicorn.__version__,
            "docker": sh("docker", "version", "--format", "{{.Server.Version}}"),
            "wrk": sh("wrk", "--version").splitlines()[0] if sh("wrk", "--version") else "",
        },
    }


def build_section() -> dict:
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return {"skipped": "no Docker engine reachable"}
    import plan_bench

    return plan_bench.bench_build()


def k8s_section(deployments: int, repeat: int) -> dict:
    script = ROOT / "benchmarks" / "k8s_plan_bench.py"
    if not (ROOT.parent / "shared" / "k8s" / "cluster.sh").exists():
        return {"skipped": "no test control plane (../shared/k8s/cluster.sh)"}
    done = subprocess.run(
        [sys.executable, str(script), "--deployments", str(deployments), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    text = done.stdout
    if done.returncode != 0:
        return {"skipped": f"k8s_plan_bench failed (exit {done.returncode}): {done.stderr[-500:]}"}

    def num(pattern: str) -> float | None:
        m = re.search(pattern, text)
        return float(m.group(1)) if m else None

    return {
        "deployments": deployments,
        "apply_s": num(r"apply of \d+ deployments: ([\d.]+) s"),
        "plan_median_s": num(r"median ([\d.]+) s \(min"),
        "plan_min_s": num(r"\(min ([\d.]+),"),
        "plan_max_s": num(r", max ([\d.]+)\)"),
        "plan_requests": (re.search(r"no-op plan requests: (.*)", text) or [None, None])[1],
        "kubectl_diff_s": num(r"kubectl diff --server-side over the same \d+ objects: ([\d.]+) s"),
        "kubectl_objects": num(r"over the same (\d+) objects"),
        "kubectl_requests": (re.search(r"kubectl diff requests: (.*)", text) or [None, None])[1],
        "repeat": repeat,
    }


def timed_section(name: str, fn, timings: dict):
    print(f"== {name} ...", flush=True)
    t0 = time.perf_counter()
    try:
        return fn()
    finally:
        timings[name] = round(time.perf_counter() - t0, 1)
        print(f"== {name}: {timings[name]} s", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: dict = {"machine": machine(), "config": cfg, "quick": args.quick, "timings": {}}
    t = results["timings"]
    results["sweep"] = timed_section(
        "render/validate/plan sweep",
        lambda: sweep_bench.sweep(cfg["sizes"], cfg["repeat"], cfg["kustomize_max"], check_max=max(cfg["sizes"])),
        t,
    )
    results["serving"] = timed_section(
        "serving", lambda: serving_bench.serving(cfg["serve_duration"], cfg["serve_repeat"]), t
    )
    if args.quick:
        results["build"] = {"skipped": "--quick"}
        results["k8s"] = {"skipped": "--quick"}
    else:
        results["build"] = timed_section("image build", build_section, t)
        results["k8s"] = timed_section("kubernetes no-op plan", lambda: k8s_section(K8S_DEPLOYMENTS, 3), t)
    results["machine"]["load_end"] = os.getloadavg()
    results["total_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    earlier = ROOT / "benchmarks" / "earlier.md"
    args.out.write_text(report.markdown(results, earlier.read_text() if earlier.exists() else ""))
    print(f"wrote {args.out} in {results['total_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
