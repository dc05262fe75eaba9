"""Prometheus metrics, aggregated across uvicorn workers with prometheus_client's multiprocess mode.

`python -m modelctl_runtime` sets PROMETHEUS_MULTIPROC_DIR before any worker starts, so every
worker writes its samples to mmap'd files there and any worker's /metrics reports the sum.

Live gauges (`live*` modes: in flight, queue depth, model ready, memory budget) must only count
workers that are alive. A worker that stops cleanly removes its files (`mark_process_dead`); one that
is killed (OOM, SIGKILL) cannot, so every worker, when it starts and whenever /metrics is rendered,
removes the live-gauge files of processes that no longer exist, and those a previous process with its
own pid left behind (the gauges are incremented, so they must start from zero).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
WAIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


_LIVE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists and is not a zombie (an exited, not yet reaped worker)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, someone else's
    except OSError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs: trust kill()
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def remove_live_gauges(folder: str, pids=None, alive=pid_alive) -> list[int]:
    """Remove the live-gauge files (what mark_process_dead removes) of `pids`, default: of every pid
    in `folder` that is not a live process other than this one. Returns the pids whose files went.
    Workers may do this concurrently: a file another one removed first is fine."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    me = os.getpid()
    files: dict[int, list[str]] = {}
    for name in names:
        m = _LIVE_FILE.match(name)
        if m:
            files.setdefault(int(m.group(1)), []).append(name)
    if pids is None:
        pids = [pid for pid in files if pid != me and not alive(pid)]
    gone = []
    for pid in sorted(set(pids) & files.keys()):
        for name in files[pid]:
            try:
                os.remove(os.path.join(folder, name))
            except FileNotFoundError:
                pass
        gone.append(pid)
    return gone


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or ""
        self.multiprocess = bool(self.folder)
        if self.multiprocess:
            from prometheus_client.multiprocess import MultiProcessCollector

            # Before any gauge exists: files with this pid are a dead process's (pid reused).
            remove_live_gauges(self.folder, [os.getpid()])
            remove_live_gauges(self.folder)
            MultiProcessCollector(self.registry)
            reg = None  # samples live in the shared folder, not in this registry
        else:
            reg = self.registry
        self.requests = Counter(
            "modelctl_requests",
            "Requests handled, by model, endpoint and status code.",
            ("model", "endpoint", "status"),
            registry=reg,
        )
        self.latency = Histogram(
            "modelctl_request_duration_seconds",
            "Request latency in seconds.",
            ("model", "endpoint", "status"),
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.in_flight = Gauge(
            "modelctl_requests_in_flight", "Requests being handled now.", registry=reg, multiprocess_mode="livesum"
        )
        self.load_seconds = Gauge(
            "modelctl_model_load_seconds",
            "Time to load the model, in seconds.",
            ("model", "version"),
            registry=reg,
            multiprocess_mode="max",
        )
        self.model_ready = Gauge(
            "modelctl_model_ready",
            "1 when the model is loaded in every worker.",
            ("model", "version"),
            registry=reg,
            multiprocess_mode="livemin",
        )
        self.queue_depth = Gauge(
            "modelctl_collector_queue_depth",
            "Records waiting to be written.",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.collected = Counter(
            "modelctl_collector_records", "Records written to the sink.", ("collection",), registry=reg
        )
        self.dropped = Counter(
            "modelctl_collector_dropped", "Records dropped (queue_full or sink_error).", ("reason",), registry=reg
        )
        self.rejected = Counter(
            "modelctl_requests_rejected",
            "Requests refused with 503 before their body was read, by reason (memory: the budget was taken).",
            ("reason",),
            registry=reg,
        )
        self.rejected_memory = self.rejected.labels("memory")
        self.memory_budget = Gauge(
            "modelctl_memory_budget_bytes",
            "Memory budget for requests in flight (sum over live workers).",
            registry=reg,
            multiprocess_mode="livesum",
        )
        self.batch_rows = Histogram(
            "modelctl_batch_rows",
            "Rows per batched predict call (adaptive batching), by model.",
            ("model",),
            buckets=BATCH_BUCKETS,
            registry=reg,
        )
        self.batch_requests = Histogram(
            "modelctl_batch_requests",
            "Requests per batched predict call (adaptive batching), by model.",
            ("model",),
            buckets=BATCH_BUCKETS,
            registry=reg,
        )
        self.batch_wait = Histogram(
            "modelctl_batch_queue_wait_seconds",
            "Time a request waited for its batch to start, in seconds, by model.",
            ("model",),
            buckets=WAIT_BUCKETS,
            registry=reg,
        )
        self._children: dict = {}

    def observe(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        key = (model, endpoint, status)
        pair = self._children.get(key)
        if pair is None:  # labels() takes a lock; cache the children per label set
            labels = (model, endpoint, str(status))
            pair = self._children[key] = (self.requests.labels(*labels), self.latency.labels(*labels))
        pair[0].inc()
        pair[1].observe(seconds)

    def render(self) -> bytes:
        if self.multiprocess:
            remove_live_gauges(self.folder)
        return generate_latest(self.registry)

    def close(self) -> None:
        if self.multiprocess:
            remove_live_gauges(self.folder, [os.getpid()])  # drop this worker's live gauges
