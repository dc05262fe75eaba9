"""Serving benchmark: modelctl's runtime vs MLflow's scoring server vs the in-process predict() floor.

One session, one machine, the same sklearn model (StandardScaler + LogisticRegression on iris):
  (a) modelctl runtime (uvicorn, 2 workers, auth off), with data collection off and on (sampling 1.0)
  (b) `mlflow models serve --env-manager local --workers 2` (MLflow lives in its own venv, created on first
      run at $MODELCTL_BENCH_VENV, default ~/.cache/modelctl-bench/venv; never in the project's .venv)
  (c) predict() called in-process (one core), the floor no server can beat
Single-row requests from `wrk` at concurrency 8 and 32, DURATION seconds each (default 20).

    .venv/bin/python benchmarks/serve_bench.py [--duration 20] [--repeat 3] [--no-mlflow] [--json results.json]

The runtime runs alternate without/with collection; each configuration reports its median run, and the
collection cost is also given as the median of the paired (same alternation) ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROW = [5.1, 3.5, 1.4, 0.2]
MLFLOW_VERSION = "3.17.2"
CONCURRENCY = (8, 32)
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_model(folder: Path) -> Path:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    path = folder / "models/iris/1/iris.joblib"
    path.parent.mkdir(parents=True)
    joblib.dump(model, path)
    (folder / "config.json").write_text(
        json.dumps(
            {
                "schemaVersion": 1,
                "image": "bench",
                "models": [
                    {"name": "iris", "version": "1", "framework": "sklearn", "path": "models/iris/1/iris.joblib"}
                ],
            }
        )
    )
    return path


def bench_venv() -> Path:
    """A separate venv with MLflow and the same scikit-learn/numpy as ours (so both load the same pickle)."""
    import numpy
    import sklearn

    venv = Path(os.environ.get("MODELCTL_BENCH_VENV", Path.home() / ".cache/modelctl-bench/venv"))
    py = venv / "bin/python"
    check = [
        str(py),
        "-c",
        "import mlflow, sklearn, numpy; print(mlflow.__version__, sklearn.__version__, numpy.__version__)",
    ]
    want = f"{MLFLOW_VERSION} {sklearn.__version__} {numpy.__version__}"
    if py.exists() and subprocess.run(check, capture_output=True, text=True).stdout.strip() == want:
        return venv
    print(f"creating {venv} with mlflow=={MLFLOW_VERSION} (one-off, a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            f"mlflow=={MLFLOW_VERSION}",
            f"scikit-learn=={sklearn.__version__}",
            f"numpy=={numpy.__version__}",
        ],
        check=True,
    )
    return venv


def save_mlflow_model(venv: Path, joblib_path: Path, out: Path) -> None:
    code = (
        "import joblib, mlflow.sklearn, sys; "
        "mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2], serialization_format='pickle')"
    )
    subprocess.run([str(venv / "bin/python"), "-c", code, str(joblib_path), str(out)], check=True, capture_output=True)


def wait_http(url: str, body: bytes | None, timeout: float = 120) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.read()
        except OSError as err:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in {timeout} s") from err
            time.sleep(0.25)


def wrk(url: str, body: str, concurrency: int, duration: int, workdir: Path) -> dict:
    script = workdir / "post.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(re.search(rf"\s{p}%\s+([\d.]+\w+)", out).group(1)) for p in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": rps,
        "requests": requests,
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "non2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


class Proc:
    def __init__(self, args, env=None, cwd=None, log=None):
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        self.p = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


def run_runtime(folder: Path, duration: int, collect: bool, workdir: Path) -> tuple[dict, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCTL_")}
    env.update(
        PYTHONPATH=str(REPO),
        MODELCTL_CONFIG=str(folder / "config.json"),
        MODELCTL_PORT=str(port),
        MODELCTL_HOST="127.0.0.1",
        MODELCTL_WORKERS=str(WORKERS),
        MODELCTL_AUTH_MODE="none",
        MODELCTL_METRICS_DIR=str(workdir / f"metrics-{port}"),
    )
    sink = workdir / f"collected-{port}"
    if collect:
        env["MODELCTL_DATA_COLLECTION"] = json.dumps({"enabled": True, "sampling": 1.0, "sink": f"file://{sink}"})
    proc = Proc([sys.executable, "-m", "compiler.runtime"], env=env, log=workdir / f"runtime-{port}.log")
    url = f"http://127.0.0.1:{port}/score"
    body = json.dumps({"data": [ROW]})
    try:
        answer = json.loads(wait_http(url, body.encode()))
        assert answer == {"predictions": [0]}, answer
        results = {c: wrk(url, body, c, duration, workdir) for c in CONCURRENCY}
    finally:
        proc.stop()
    records = sum(len(f.read_bytes().splitlines()) for f in sink.rglob("*.jsonl")) if collect else 0
    served = sum(r["requests"] - r["non2xx"] for r in results.values()) + 1  # + the warm-up request
    if collect and records < served:
        print(f"WARNING: {served - records} collected records missing", file=sys.stderr)
    return results, records


def run_mlflow(venv: Path, model_dir: Path, duration: int, workdir: Path) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": f"file://{workdir}/mlruns",
    }
    proc = Proc(
        [
            str(venv / "bin/mlflow"),
            "models",
            "serve",
            "-m",
            str(model_dir),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "--workers",
            str(WORKERS),
        ],
        env=env,
        log=workdir / "mlflow.log",
    )
    url = f"http://127.0.0.1:{port}/invocations"
    body = json.dumps({"inputs": [ROW]})  # the lightest MLflow input format (no DataFrame)
    try:
        answer = json.loads(wait_http(url, body.encode()))
        assert answer == {"predictions": [0]}, answer
        return {c: wrk(url, body, c, duration, workdir) for c in CONCURRENCY}
    finally:
        proc.stop()


def run_floor(joblib_path: Path, duration: int) -> dict:
    import joblib
    import numpy as np

    model = joblib.load(joblib_path)
    x = np.asarray([ROW])
    times, end = [], time.perf_counter() + duration
    while time.perf_counter() < end:
        t = time.perf_counter()
        model.predict(x)
        times.append(time.perf_counter() - t)
    q = statistics.quantiles(times, n=100)
    return {"rps": len(times) / sum(times), "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000}


def run_inprocess_cpu(folder: Path, collect: bool, workdir: Path, n: int = 20000) -> float:
    """CPU seconds per request (all threads, incl. the collector's writer) for the ASGI app driven in-process.

    CPU time, unlike wall-clock req/s, is not skewed by other processes on a shared machine.
    """
    import asyncio

    env = {"MODELCTL_CONFIG": str(folder / "config.json"), "MODELCTL_AUTH_MODE": "none", "MODELCTL_ACCESS_LOG": "0"}
    if collect:
        env["MODELCTL_DATA_COLLECTION"] = json.dumps(
            {"enabled": True, "sampling": 1.0, "queueSize": 2 * n, "sink": f"file://{workdir}/inproc-{time.time_ns()}"}
        )
    sys.path.insert(0, str(REPO))
    from compiler.runtime.app import App
    from compiler.runtime.settings import load_settings

    app = App(load_settings(env))
    app.models.load_all()
    body = json.dumps({"data": [ROW]}).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/score",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        pass

    async def drive(count):
        for _ in range(count):
            await app.http(scope, receive, send)

    if app.queue is not None:
        app.queue.start()
    asyncio.run(drive(500))  # warm-up
    start = time.process_time()
    asyncio.run(drive(n))
    if app.queue is not None:
        app.queue.close()  # the writer's work counts too
    return (time.process_time() - start) / n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run (default 20)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--repeat", type=int, default=3, help="alternating runs per runtime configuration (median kept)")
    ap.add_argument("--mlflow-repeat", type=int, default=1, help="runs of the MLflow server (median kept)")
    ap.add_argument("--no-mlflow", action="store_true", help="runtime with/without collection only")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 1
    venv = None if args.no_mlflow else bench_venv()
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        workdir = Path(tmp)
        joblib_path = make_model(workdir / "image")
        if venv is not None:
            save_mlflow_model(venv, joblib_path, workdir / "mlflow-model")
        floor = run_floor(joblib_path, min(args.duration, 10))
        cpu_runs = {False: [], True: []}
        for _ in range(3):  # alternate, keep medians: CPU time per op still drifts with the host's load
            for c in (False, True):
                cpu_runs[c].append(run_inprocess_cpu(workdir / "image", c, workdir, n=10000))
        cpu = {c: statistics.median(v) for c, v in cpu_runs.items()}
        # This machine is shared: alternate the runtime with and without collection and keep each
        # configuration's median run, so a burst of someone else's load does not decide the comparison.
        runs, records = {False: [], True: []}, 0
        for _ in range(args.repeat):
            for collect in (False, True):
                result, n = run_runtime(workdir / "image", args.duration, collect, workdir)
                runs[collect].append(result)
                records = n if collect else records
        ours, ours_dc = median_run(runs[False]), median_run(runs[True])
        mlflow = (
            None
            if venv is None
            else median_run(
                [run_mlflow(venv, workdir / "mlflow-model", args.duration, workdir) for _ in range(args.mlflow_repeat)]
            )
        )
    report(floor, ours, ours_dc, records, mlflow, cpu, runs)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "floor": floor,
                    "runtime": ours,
                    "runtime_collect": ours_dc,
                    "runs": {str(k): v for k, v in runs.items()},
                    "collected_records": records,
                    "mlflow": mlflow,
                    "cpu_per_request_s": {str(k): v for k, v in cpu.items()},
                },
                indent=2,
            )
        )
    return 0


def median_run(runs: list[dict]) -> dict:
    """Per concurrency, the run with the median req/s (its own latencies, not mixed across runs)."""
    return {c: sorted((r[c] for r in runs), key=lambda x: x["rps"])[(len(runs) - 1) // 2] for c in CONCURRENCY}


def paired_costs(runs: dict, c: int) -> list[float]:
    """Collection cost of each alternation (run i with vs run i without): slow drifts of the host cancel."""
    return [1 - on[c]["rps"] / off[c]["rps"] for off, on in zip(runs[False], runs[True], strict=True)]


def report(floor, ours, ours_dc, records, mlflow, cpu, runs) -> None:
    print(
        f"\nin-process predict() floor (1 core): {floor['rps']:,.0f} calls/s, "
        f"p50 {floor['p50_ms']:.3f} ms, p99 {floor['p99_ms']:.3f} ms"
    )
    print(f"\n{'server':34} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, res in (
        ("modelctl runtime", ours),
        ("modelctl runtime + collection 1.0", ours_dc),
        ("mlflow models serve", mlflow),
    ):
        for c, r in (res or {}).items():
            print(f"{name:34} {c:>4} {r['rps']:>9,.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['non2xx']:>8}")
    print("\nratios")
    for c in CONCURRENCY:
        if mlflow is not None:
            speed = ours[c]["rps"] / mlflow[c]["rps"]
            print(
                f"  c={c:<3} runtime/mlflow req/s {speed:.2f}x (target >= 2x), p99 {ours[c]['p99_ms']:.1f} vs "
                f"{mlflow[c]['p99_ms']:.1f} ms (target <=)"
            )
        cost = 1 - ours_dc[c]["rps"] / ours[c]["rps"]
        paired = paired_costs(runs, c)
        print(
            f"  c={c:<3} collection cost {cost:+.1%} of req/s (medians; target < 10%); per alternation "
            f"{', '.join(f'{p:+.1%}' for p in paired)} (median {statistics.median(paired):+.1%}); req/s runs "
            f"off {[round(r[c]['rps']) for r in runs[False]]}, on {[round(r[c]['rps']) for r in runs[True]]}"
        )
    print(
        f"  in-process CPU per /score request: {cpu[False] * 1e6:.0f} us without collection, "
        f"{cpu[True] * 1e6:.0f} us with sampling 1.0 (writer thread included): collection cost "
        f"{cpu[True] / cpu[False] - 1:+.1%} of CPU per request (target < 10%)"
    )
    print(
        f"  last collection run: {records:,} records on disk after SIGTERM (every 2xx request, plus the "
        "warm-up; wrk does not count requests in flight when it stops)"
    )


if __name__ == "__main__":
    sys.exit(main())
