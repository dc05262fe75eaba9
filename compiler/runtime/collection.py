"""The data-collection queue: bounded, sampled, batched, written by a background thread.

The request path does as little as possible: after the sampling decision it appends one tuple of
references (time, collection, model, version, request id, inputs, outputs) to a deque — no dict, no
copy, no lock, no encoding; when the queue is full the record is dropped and counted. The writer
thread builds, redacts and encodes the records of a whole batch and hands them to the sink grouped by
partition. close() drains everything still queued (graceful shutdown).

Queued records keep their request's parsed inputs alive, so a scored record carries its request's
memory estimate (memory.py): the bytes queued records hold count against the worker's memory budget,
and a record that would take them over `max_held_bytes` is dropped (`queue_full`) like one over
`queueSize`. The request path adds to `_held_added`, the writer thread to `_held_released` once a
batch is written: one writer per counter, no lock.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections import deque

import orjson

from .settings import CollectionSettings
from .sinks import encode_record, make_sink

REDACTED = "[redacted]"
DATA = object()  # marks a custom collection's tuple: its `inputs` slot holds the collected data


def redact(inputs, fields: frozenset):
    if not fields or not isinstance(inputs, dict):
        return inputs
    out: dict[str, object] = {}
    for name, value in inputs.items():
        if name in fields:
            out[name] = REDACTED
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out[name] = [
                {k: (REDACTED if k in fields else v) for k, v in row.items()} if isinstance(row, dict) else row
                for row in value
            ]
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
        self.sample_all = settings.sampling >= 1.0  # read by the request path before any other work
        self._sampling = settings.sampling
        self._redact = frozenset(settings.redact)
        self._wake = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="modelctl-collector", daemon=True)
        self.max_held_bytes = 1 << 62  # set from the worker's memory budget (memory.Admission)
        self._held_added = 0
        self._held_released = 0
        self._columns: dict[str, dict[str, list[str]]] = {}  # model → input → the names of its columns

    def name_columns(self, model: str, names: dict[str, tuple[str, ...]]) -> None:
        """The names of a model's input columns (set once it loaded): its scored records carry them as
        `featureNames`, so `modelctl monitor` names features `sepal_length`, not `data[0]`."""
        if names:
            self._columns[model] = {k: list(v) for k, v in names.items()}

    def start(self, started: float | None = None) -> None:
        """Start the writer; a sink with a sweep() (file) also removes what dead writers left behind,
        in its own thread (the sink's folder may be large)."""
        self._thread.start()
        sweep = getattr(self.sink, "sweep", None)
        if sweep is not None:
            threading.Thread(target=self._sweep, args=(sweep, started), name="modelctl-sweep", daemon=True).start()

    def _sweep(self, sweep, started) -> None:
        try:
            removed = sweep(started)
        except Exception as exc:  # never fatal
            sys.stderr.write(
                orjson.dumps(
                    {"level": "error", "msg": "removing stale temp files failed", "error": str(exc)[:500]}
                ).decode()
                + "\n"
            )
            return
        if removed:
            sys.stderr.write(
                orjson.dumps(
                    {"level": "warning", "msg": "removed temp files of dead writers", "files": removed}
                ).decode()
                + "\n"
            )

    def held_bytes(self) -> int:
        """Estimated memory the queued records hold (their requests' reservations)."""
        return self._held_added - self._held_released

    def sampled(self) -> bool:
        return self.sample_all or random.random() < self._sampling

    def offer(self, collection: str, model: str, version: str, request_id, inputs, outputs=DATA, cost: int = 0) -> bool:
        """Queue a record without blocking or copying. Returns False when it was dropped.

        `outputs` omitted: a custom collection whose data is `inputs`. `cost`: the memory the record
        holds (event-loop thread only; the Collector API passes none).
        """
        queue = self._queue
        if (
            self._closing
            or len(queue) >= self._maxsize
            or (cost and self._held_added - self._held_released + cost > self.max_held_bytes)
        ):
            self.metrics.dropped.labels("queue_full").inc()
            return False
        if cost:
            self._held_added += cost
        queue.append((time.time(), collection, model, version, request_id, inputs, outputs, cost))
        if len(queue) == self._batch:
            self._wake.set()
        return True

    def close(self, timeout: float = 60.0) -> None:
        self._closing = True
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        """Write full batches as they fill; the remainder only every flushSeconds or at close.

        (Writing whatever is queued whenever woken would turn a busy server into a stream of tiny
        files, each with its own fsync: measured ~10% of throughput instead of ~1%.) One wake-up per
        full batch, set by the request path; the thread holds the GIL only while it encodes.
        """
        queue, size = self._queue, self._batch
        next_flush = time.monotonic() + self.settings.flush_seconds
        while True:
            self._wake.wait(max(0.0, next_flush - time.monotonic()))
            self._wake.clear()
            closing = self._closing
            while len(queue) >= size:
                self._write([queue.popleft() for _ in range(size)])
            if closing or time.monotonic() >= next_flush:
                left = len(queue)  # what is queued now; later arrivals wait for a full batch or the next flush
                while left:
                    n = min(size, left)
                    self._write([queue.popleft() for _ in range(n)])
                    left -= n
                next_flush = time.monotonic() + self.settings.flush_seconds
            self.metrics.queue_depth.set(len(queue))
            if closing and not queue:
                return

    def _write(self, batch: list[tuple]) -> None:
        try:
            self._encode_and_write(batch)
        finally:
            self._held_released += sum(item[7] for item in batch)

    def _encode_and_write(self, batch: list[tuple]) -> None:
        """Build, redact and encode a batch, grouped by partition (model, version, UTC hour, collection)."""
        fields = self._redact
        columns = self._columns
        groups: dict[tuple, list[bytes]] = {}
        prefixes: dict[int, str] = {}
        counts: dict[str, int] = {}
        try:
            for ts, collection, model, version, rid, inputs, outputs, _cost in batch:
                whole = int(ts)
                prefix = prefixes.get(whole)
                if prefix is None:
                    prefix = prefixes[whole] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
                record = {
                    "collection": collection,
                    "model": model,
                    "version": version,
                    "requestId": rid,
                    "timestamp": f"{prefix}.{int((ts - whole) * 1e6):06d}Z",
                }
                if outputs is DATA:
                    record["data"] = inputs
                else:
                    record["inputs"] = redact(inputs, fields) if fields else inputs
                    record["outputs"] = outputs
                    names = columns.get(model)
                    if names is not None:
                        record["featureNames"] = names
                key = (model or "_", version or "_", whole // 3600, collection)
                lines = groups.get(key)
                if lines is None:
                    lines = groups[key] = []
                lines.append(encode_record(record))
                counts[collection] = counts.get(collection, 0) + 1
            self.sink.write(groups)
        except Exception as exc:  # a broken sink (or record) must never take the server down
            self.metrics.dropped.labels("sink_error").inc(len(batch))
            sys.stderr.write(
                orjson.dumps(
                    {
                        "level": "error",
                        "msg": "data collection sink failed",
                        "error": str(exc)[:500],
                        "records": len(batch),
                    }
                ).decode()
                + "\n"
            )
            return
        for collection, n in counts.items():
            self.metrics.collected.labels(collection).inc(n)
