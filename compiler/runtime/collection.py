"""The data-collection queue: bounded, sampled, batched, written by a background thread.

The request path only appends to a deque (never blocks, never raises); when the queue is full the
record is dropped and counted. close() drains everything still queued (graceful shutdown).
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque

import orjson

from .settings import CollectionSettings
from .sinks import make_sink

REDACTED = "[redacted]"


def redact(inputs, fields: frozenset):
    if not fields or not isinstance(inputs, dict):
        return inputs
    out = {}
    for name, value in inputs.items():
        if name in fields:
            out[name] = REDACTED
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out[name] = [{k: (REDACTED if k in fields else v) for k, v in row.items()}
                         if isinstance(row, dict) else row for row in value]
        else:
            out[name] = value
    return out


class CollectionQueue:
    def __init__(self, settings: CollectionSettings, metrics, sink=None):
        self.settings = settings
        self.metrics = metrics
        self.sink = sink or make_sink(settings.sink)
        self._queue: deque = deque()
        self._maxsize = settings.queue_size
        self._batch = settings.batch_size
        self._sampling = settings.sampling
        self._redact = frozenset(settings.redact)
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="modelctl-collector", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def sampled(self) -> bool:
        return self._sampling >= 1.0 or random.random() < self._sampling

    def offer(self, record: dict) -> bool:
        """Queue a record without blocking. Returns False when it was dropped."""
        if self._closing or len(self._queue) >= self._maxsize:
            self.metrics.dropped.labels("queue_full").inc()
            return False
        record["_ts"] = time.time()
        self._queue.append(record)
        if len(self._queue) == self._batch:
            self._wake.set()
        return True

    def close(self, timeout: float = 60.0) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        """Write full batches as they fill; the remainder only every flushSeconds or at close.

        (Writing whatever is queued whenever woken would turn a busy server into a stream of tiny
        files, each with its own fsync: measured ~10% of throughput instead of ~1%.)
        """
        next_flush = time.monotonic() + self.settings.flush_seconds
        while True:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            closing = self._closing
            while len(self._queue) >= self._batch:
                self._write([self._queue.popleft() for _ in range(self._batch)])
            if closing or time.monotonic() >= next_flush:
                for _ in range(len(self._queue) // self._batch + 1):
                    batch = []
                    while self._queue and len(batch) < self._batch:
                        batch.append(self._queue.popleft())
                    if batch:
                        self._write(batch)
                next_flush = time.monotonic() + self.settings.flush_seconds
            self.metrics.queue_depth.set(len(self._queue))
            if closing and not self._queue:
                return

    def _write(self, batch: list[dict]) -> None:
        seconds: dict[int, str] = {}
        for r in batch:
            if self._redact and "inputs" in r:
                r["inputs"] = redact(r["inputs"], self._redact)
            ts = r["_ts"]
            whole = int(ts)
            prefix = seconds.get(whole)
            if prefix is None:
                prefix = seconds[whole] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
            r["timestamp"] = f"{prefix}.{int((ts - whole) * 1e6):06d}Z"
        try:
            self.sink.write(batch)
        except Exception as exc:  # a broken sink must never take the server down
            self.metrics.dropped.labels("sink_error").inc(len(batch))
            sys.stderr.write(orjson.dumps({"level": "error", "msg": "data collection sink failed",
                                           "error": str(exc)[:500], "records": len(batch)}).decode() + "\n")
            return
        counts: dict[str, int] = {}
        for r in batch:
            counts[r["collection"]] = counts.get(r["collection"], 0) + 1
        for collection, n in counts.items():
            self.metrics.collected.labels(collection).inc(n)
