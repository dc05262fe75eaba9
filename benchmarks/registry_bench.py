"""Registry benchmark: registrations and tag searches on SQLite (the default backend).

    .venv/bin/python benchmarks/registry_bench.py [--registrations 10000] [--searches 1000]

Prints per-operation median and p95 (wall clock, plus CPU time of this process), each against a
baseline measured in the same run and interleaved with it, so load from other processes hits both:
- registration vs. the bare atomic blob write it contains (temp + fsync + rename + dir fsync);
- indexed tag search vs. the same search on a copy of the database without the tag index.
Target: tag search median < 5 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from compiler.registry import open_registry

NAMES = 100
TEAMS = 10


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(label: str, wall: list[float], cpu: list[float]) -> float:
    median = statistics.median(wall) * 1000
    print(
        f"  {label:<42} n={len(wall):>6}  median {median:8.3f} ms  p95 {percentile(wall, 0.95) * 1000:8.3f} ms"
        f"  (cpu median {statistics.median(cpu) * 1000:7.3f} ms)"
    )
    return median


def timed(fn, wall: list[float], cpu: list[float]):  # noqa: ANN001, ANN201
    start, start_cpu = time.perf_counter(), time.process_time()
    result = fn()
    wall.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)
    return result


def bare_blob_write(folder: Path, i: int) -> None:
    tmp, final = folder / f"{i}.part", folder / f"{i}.blob"
    with open(tmp, "wb") as f:
        f.write(f"baseline blob {i}".encode() * 4)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    fd = os.open(folder, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--registrations", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=1_000)
    args = parser.parse_args()
    rng = random.Random(20261125)
    root = Path(tempfile.mkdtemp(prefix="registry-bench-"))
    (root / "baseline").mkdir()
    src = root / "src.joblib"
    print(
        f"registry benchmark in {root}: {args.registrations} registrations, {args.searches} searches per query;"
        f" load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    reg_wall, reg_cpu, base_wall, base_cpu = [], [], [], []
    with open_registry("sqlite:///registry.db", "file://artifacts", root) as reg:
        for i in range(args.registrations):
            src.write_bytes(f"model {i} {rng.random()}".encode() * 4)
            tags = {"team": f"team-{i % TEAMS}", "run": f"run-{i}"}
            if i % 100 == 0:
                tags["stage"] = "prod"
            timed(
                lambda i=i, tags=tags: reg.register_model(
                    f"model-{i % NAMES:03d}", src, framework="sklearn", tags=tags
                ),
                reg_wall,
                reg_cpu,
            )
            timed(lambda i=i: bare_blob_write(root / "baseline", i), base_wall, base_cpu)

    # The baseline for searches: the same data without the tag index.
    with sqlite3.connect(root / "registry.db") as source, sqlite3.connect(root / "noindex.db") as copy:
        source.backup(copy)
        copy.execute("DROP INDEX ix_model_tags_key_value")

    queries = {
        "tag equality (team=team-3, 1000 hits)": dict(tags={"team": "team-3"}),
        "rare tag (stage=prod, 100 hits)": dict(tags={"stage": "prod"}),
        "tag existence (stage)": dict(tags={"stage": None}),
        "two tags (team=team-0, stage=prod)": dict(tags={"team": "team-0", "stage": "prod"}),
        "tag + prefix (team=team-5, model-05*)": dict(tags={"team": "team-5"}, prefix="model-05"),
        "no match (team=nobody)": dict(tags={"team": "nobody"}),
        "unique tag (run=run-<random>)": None,
    }
    results = {}
    with (
        open_registry("sqlite:///registry.db", "file://artifacts", root) as indexed,
        open_registry("sqlite:///noindex.db", "file://artifacts", root) as scanned,
    ):
        for label, query in queries.items():
            times: dict[str, tuple[list[float], list[float]]] = {"indexed": ([], []), "scanned": ([], [])}
            for _ in range(args.searches):
                q = query or dict(tags={"run": f"run-{rng.randrange(args.registrations)}"})
                found = timed(lambda q=q: indexed.list_models(**q), *times["indexed"])
                again = timed(lambda q=q: scanned.list_models(**q), *times["scanned"])
                assert [m.ref for m in found] == [m.ref for m in again]
                assert query is not None or len(found) == 1
            results[label] = times

    print("\nregistration (small distinct blob, tags, one transaction; synchronous=FULL)")
    base = report("baseline: bare atomic blob write", base_wall, base_cpu)
    median = report("register_model", reg_wall, reg_cpu)
    print(f"  ratio register/baseline: {median / base:.1f}x")

    print("\ntag search (list_models, page of up to 50 full records, newest first)")
    worst = 0.0
    for label, times in results.items():
        fast = report(label, *times["indexed"])
        slow = report("  baseline: same, without the tag index", *times["scanned"])
        print(f"  {'':<42} index speed-up: {slow / fast:.1f}x")
        worst = max(worst, fast)
    print(f"load average at end {os.getloadavg()[0]:.1f}")
    verdict = "PASS" if worst < 5 else "FAIL"
    print(f"\nslowest indexed search median {worst:.3f} ms (target < 5 ms): {verdict}")


if __name__ == "__main__":
    main()
