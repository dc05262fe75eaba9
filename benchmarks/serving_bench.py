"""Serving peers side by side: modelctl's runtime (with and without batching), MLflow, MLServer (with and
without its adaptive batching), and the in-process predict() floor.

The same sklearn model (serve_bench.make_model), the same worker count for every server, single-row
requests from `wrk` at concurrency 8 and 32. The configurations run in turns (A B C … A B C …), so load
from other work on the machine falls on all of them; each keeps its median run. Server CPU per request
is the CPU time (user + system) of the server's whole process group over a wrk run, over its requests.
Run alone: `python benchmarks/serving_bench.py [--duration 10] [--repeat 2]` (prints JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import serve_bench as sb  # noqa: E402
from peers import mlserver, venvs  # noqa: E402

WORKERS = sb.WORKERS
CONCURRENCY = sb.CONCURRENCY
BATCH = {"MODELCTL_BATCH_MAX_SIZE": "32", "MODELCTL_BATCH_MAX_LATENCY_MS": "2"}
TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in a process group."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state ppid pgrp … utime(11) stime(12)
            total += int(fields[11]) + int(fields[12])
    return total / TICK


def batching_available() -> bool:
    return (ROOT / "compiler" / "runtime" / "batching.py").exists()


class Server:
    """One configuration: how to start it, where to send requests, what it answers."""

    def __init__(self, name, args, url, body, expect, env=None, cwd=None):
        self.name, self.args, self.url, self.body, self.expect = name, args, url, body, expect
        self.env, self.cwd = env, cwd

    def measure(self, duration: int, workdir: Path) -> dict:
        log = workdir / f"{self.name.replace(' ', '_')}.log"
        proc = sb.Proc(self.args, env=self.env, cwd=self.cwd, log=log)
        try:
            answer = json.loads(sb.wait_http(self.url, self.body.encode(), timeout=180))
            if not self.expect(answer):
                raise RuntimeError(f"{self.name} answered {answer}")
            sb.wrk(self.url, self.body, 8, 2, workdir)  # warm-up (connections, lazy imports)
            out = {}
            for c in CONCURRENCY:
                before = group_cpu_s(proc.p.pid)
                result = sb.wrk(self.url, self.body, c, duration, workdir)
                cpu = group_cpu_s(proc.p.pid) - before
                result["cpu_ms_per_request"] = 1000 * cpu / max(result["requests"], 1)
                out[c] = result
            return out
        finally:
            proc.stop()


def servers(workdir: Path, joblib_path: Path, mlflow_venv: Path | None, mlserver_venv: Path | None) -> list[Server]:
    row_body = json.dumps({"data": [sb.ROW]})
    found: list[Server] = []
    for batching in (False, True) if batching_available() else (False,):
        port = sb.free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODELCTL_")}
        env.update(
            PYTHONPATH=str(ROOT),
            MODELCTL_CONFIG=str(workdir / "image" / "config.json"),
            MODELCTL_PORT=str(port),
            MODELCTL_HOST="127.0.0.1",
            MODELCTL_WORKERS=str(WORKERS),
            MODELCTL_AUTH_MODE="none",
            MODELCTL_METRICS_DIR=str(workdir / f"metrics-{port}"),
            **(BATCH if batching else {}),
        )
        found.append(
            Server(
                "modelctl + batching" if batching else "modelctl",
                [sys.executable, "-m", "compiler.runtime"],
                f"http://127.0.0.1:{port}/score",
                row_body,
                lambda a: a == {"predictions": [0]},
                env=env,
            )
        )
    if mlflow_venv is not None:
        port = sb.free_port()
        env = {
            **os.environ,
            "PATH": f"{mlflow_venv / 'bin'}:{os.environ['PATH']}",
            "MLFLOW_TRACKING_URI": f"file://{workdir}/mlruns",
        }
        args = [str(mlflow_venv / "bin/mlflow"), "models", "serve", "-m", str(workdir / "mlflow-model")]
        args += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "--workers", str(WORKERS)]
        found.append(
            Server(
                "mlflow models serve",
                args,
                f"http://127.0.0.1:{port}/invocations",
                json.dumps({"inputs": [sb.ROW]}),
                lambda a: a == {"predictions": [0]},
                env=env,
            )
        )
    if mlserver_venv is not None:
        for batching in (False, True):
            port = sb.free_port()
            folder = mlserver.write_repository(
                workdir / f"mlserver-{port}",
                joblib_path,
                port=port,
                grpc_port=sb.free_port(),
                metrics_port=sb.free_port(),
                workers=WORKERS,
                batching=batching,
            )
            env = {**os.environ, "PATH": f"{mlserver_venv / 'bin'}:{os.environ['PATH']}"}
            found.append(
                Server(
                    "MLServer + adaptive batching" if batching else "MLServer",
                    [str(mlserver_venv / "bin/mlserver"), "start", str(folder)],
                    f"http://127.0.0.1:{port}/v2/models/iris/infer",
                    mlserver.request_body(sb.ROW),
                    lambda a: a.get("outputs", [{}])[0].get("data") == [0],
                    env=env,
                    cwd=folder,
                )
            )
    return found


def serving(duration: int, repeat: int) -> dict:
    if not shutil.which("wrk"):
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    mlflow_venv, mlflow_version = venvs.ensure("mlflow")
    mlserver_venv, mlserver_version = venvs.ensure("mlserver")
    with tempfile.TemporaryDirectory(prefix="serving-bench-") as tmp:
        workdir = Path(tmp)
        joblib_path = sb.make_model(workdir / "image")
        sb.save_mlflow_model(mlflow_venv, joblib_path, workdir / "mlflow-model")
        floor = sb.run_floor(joblib_path, min(duration, 10))
        configs = servers(workdir, joblib_path, mlflow_venv, mlserver_venv)
        runs: dict[str, list[dict]] = {s.name: [] for s in configs}
        for _ in range(repeat):
            for server in configs:
                runs[server.name].append(server.measure(duration, workdir))
    return {
        "floor": floor,
        "runs": runs,
        "median": {name: sb.median_run(r) for name, r in runs.items()},
        "workers": WORKERS,
        "duration_s": duration,
        "repeat": repeat,
        "versions": {"mlflow": mlflow_version, "mlserver": mlserver_version},
        "batching_available": batching_available(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    print(json.dumps(serving(args.duration, args.repeat), indent=2, default=str))


if __name__ == "__main__":
    main()
