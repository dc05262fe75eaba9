"""`modelctl ui` over a 1,000-deployment workspace (run: python benchmarks/ui_bench.py [-n 1000]).

A repo of N deployments on a docker target (one model, one image, N/10 endpoints; nothing applied,
so the registry is absent and the engine lists no container of it) is served by `modelctl ui` in a
child process. Measured:

- the first workspace read (compile + git + live read per target type), as the snapshot reports it;
- each API route, warm, median of R requests (what a page and its 5 s refresh fetch);
- with Chromium installed: each view from navigation to rendered (`data-state=ready`), median of R.

Target: every page under 1 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "ui"))

from ui_support import CHROMIUM, chromium, open_view, ui_server  # noqa: E402

EXAMPLE = ROOT / "examples" / "iris"
ROUTES = ("/", "/api/v1/graph", "/api/v1/deployments", "/api/v1/endpoints", "/api/v1/plan", "/api/v1/history")
VIEWS = ("graph", "deployments", "endpoints", "plans", "history")


def write_repo(root: Path, n: int) -> None:
    (root / "artifacts").mkdir(parents=True)
    shutil.copy(EXAMPLE / "artifacts" / "iris.joblib", root / "artifacts" / "model.joblib")
    (root / "modelctl.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {name: uibench}\nspec:\n"
        "  imageRegistry: 127.0.0.1:5000/uibench\n  targets:\n    local: {type: docker}\n"
    )
    (root / "models.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: iris}\n"
        "spec: {framework: sklearn, path: artifacts/model.joblib}\n"
        "---\napiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris], environment: curated/sklearn}\n"
    )
    docs = [
        f"apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {{name: d{i:04d}}}\n"
        f"spec: {{image: scorer, target: local, resources: {{cpu: 100m, memory: 256Mi}}, auth: {{mode: key, secretRef: bench-keys}}}}\n"
        for i in range(n)
    ]
    docs += [
        f"apiVersion: modelctl.io/v1\nkind: Endpoint\nmetadata: {{name: e{j:03d}}}\n"
        f"spec: {{target: local, traffic: {{d{10 * j:04d}: 50, d{10 * j + 1:04d}: 50}}}}\n"
        for j in range(n // 10)
    ]
    (root / "deployments.yaml").write_text("---\n".join(docs))


def median_seconds(call, runs: int) -> float:  # noqa: ANN001
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="deployments")
    parser.add_argument("-r", type=int, default=5, help="runs per measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelctl-ui-bench-") as tmp:
        root = Path(tmp) / "repo"
        write_repo(root, args.n)
        with ui_server(root) as ui:
            first = ui.get("/api/v1/workspace").json()
            if not first.get("nodes"):
                raise SystemExit(f"the benchmark repo does not compile: {first.get('problems', [])[:3]}")
            print(
                f"{args.n} deployments: first workspace read {first['readSeconds']:.2f} s ({len(first['nodes'])} nodes)"
            )
            worst = 0.0
            with httpx.Client(base_url=ui.base, timeout=60) as client:
                for route in ROUTES:
                    seconds = median_seconds(lambda route=route: client.get(route).raise_for_status(), args.r)
                    worst = max(worst, seconds)
                    print(f"  GET {route:<24} {seconds * 1000:7.1f} ms (median of {args.r}, warm)")
            if CHROMIUM.exists():
                with chromium() as driver:
                    for view in VIEWS:
                        seconds = statistics.median(_load(driver, ui.url, view) for _ in range(args.r))
                        worst = max(worst, seconds)
                        print(f"  view {view:<23} {seconds * 1000:7.1f} ms (navigation to rendered, median)")
            else:
                print("  (no Chromium: views not timed)")
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} cores while measuring)")
    verdict = "OK" if worst < 1.0 else "SLOW"
    print(f"slowest page {worst * 1000:.0f} ms: {verdict} (target < 1000 ms)")
    return 0 if worst < 1.0 else 1


def _load(driver, url: str, view: str) -> float:  # noqa: ANN001
    """Seconds from navigating to VIEW (from another view, so it renders anew) to its rendered state."""
    open_view(driver, url, "registry")
    t0 = time.perf_counter()
    open_view(driver, url, view)
    return time.perf_counter() - t0


if __name__ == "__main__":
    raise SystemExit(main())
