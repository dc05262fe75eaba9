"""Adaptive micro-batching: concurrent requests to one model, predicted in one call, split back.

One `Batcher` per model per worker, on the worker's event loop. A request that passed its own
validation hands its inputs to `submit()` and awaits its own part of the result. Pending requests
become one predict call (in the scoring thread pool) when they reach `max_rows` rows, or
`max_latency` after the first of them arrived. One batch per model is in flight at a time; requests
that arrive meanwhile wait for it to end and then go together, so batches grow with the load on
their own, and an idle model delays a request by at most `max_latency`.

A batch call that fails, or whose result cannot be split by rows, is retried request by request:
a request the model rejects fails alone and its batch-mates still get their answers.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
from collections import deque
from concurrent.futures import Future
from time import perf_counter

import orjson

from .collector import ScoringContext, current
from .errors import HTTPError, guard

ARRAYS = "arrays"  # inputs: {name: ndarray with one row per first-axis entry} → model.predict
ROWS = "rows"  # a batchable script's /score rows: a list → model.run_rows


class Item:
    """One request waiting in a batch."""

    __slots__ = ("kind", "key", "payload", "rows", "future", "ticket", "rid", "queued")

    def __init__(self, kind, key, payload, rows, future, ticket, rid, queued):
        self.kind, self.key, self.payload, self.rows = kind, key, payload, rows
        self.future, self.ticket, self.rid, self.queued = future, ticket, rid, queued


class _Batch:
    __slots__ = ("items", "job", "timer", "expired")

    def __init__(self, items: list[Item], job: Future):
        self.items, self.job, self.expired = items, job, False
        self.timer: asyncio.TimerHandle | None = None


def arrays_key(inputs: dict) -> tuple | None:
    """What requests must share to be concatenated (names, dtypes, shapes past the first axis), with
    their row count; None when the inputs do not have one common first axis."""
    rows = None
    key = []
    for name, arr in inputs.items():
        if arr.ndim == 0 or (rows is not None and arr.shape[0] != rows):
            return None
        rows = arr.shape[0]
        key.append((name, arr.dtype.str, arr.shape[1:]))
    if rows is None:
        return None
    key.sort()
    return tuple(key), rows


class Batcher:
    def __init__(self, model, executor, *, max_rows, max_latency, timeout, metrics, queue, on_timeout, loop):
        self.model = model
        self.executor = executor
        self.max_rows = max_rows
        self.max_latency = max_latency  # seconds
        self.timeout = timeout
        self.queue = queue  # a script's Collector records need a scoring context
        self.on_timeout = on_timeout  # (ticket, job): the ticket's memory stays taken until the job ends
        self.loop = loop
        self._pending: deque[Item] = deque()
        self._pending_rows = 0
        self._timer = None
        self._running: _Batch | None = None
        self._warned = False
        name = model.cfg.name
        self._rows = metrics.batch_rows.labels(name)
        self._requests = metrics.batch_requests.labels(name)
        self._wait = metrics.batch_wait.labels(name)

    def submit(self, kind: str, key, payload, rows: int, rid: str, ticket):
        """The request's own result (or error), once its batch has run: await the returned future."""
        future = self.loop.create_future()
        self._pending.append(Item(kind, key, payload, rows, future, ticket, rid, perf_counter()))
        self._pending_rows += rows
        if self._running is None:
            if self._pending_rows >= self.max_rows:
                self._flush()
            elif self._timer is None:
                self._timer = self.loop.call_later(self.max_latency, self._on_timer)
        return future

    def _on_timer(self) -> None:
        self._timer = None
        if self._running is None and self._pending:
            self._flush()

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, items, rows = self._pending, list[Item](), 0
        while pending and (not items or rows + pending[0].rows <= self.max_rows):
            item = pending.popleft()
            items.append(item)
            rows += item.rows
        self._pending_rows -= rows
        start = perf_counter()
        for item in items:
            self._wait.observe(start - item.queued)
        ctx = contextvars.copy_context()
        if self.queue is not None:  # a script's Collector records carry the batch's first request id
            cfg = self.model.cfg
            ctx.run(current.set, ScoringContext(self.queue, cfg.name, cfg.version, items[0].rid))
        try:
            job = self.executor.submit(ctx.run, self._run, items)
        except RuntimeError as exc:  # the pool is shut down (the worker is stopping): no request hangs
            for item in items:
                if not item.future.done():
                    item.future.set_exception(HTTPError(503, f"the server is shutting down ({exc})"))
            return
        batch = self._running = _Batch(items, job)
        batch.timer = self.loop.call_later(self.timeout, self._expire, batch)
        job.add_done_callback(lambda _job: _call_soon(self.loop, self._done, batch))

    def _run(self, items: list[Item]) -> list[tuple[bool, object]]:
        """In a scoring thread: one predict per group of requests with the same kind of inputs."""
        groups: dict = {}
        for i, item in enumerate(items):
            groups.setdefault((item.kind, item.key), []).append(i)
        results: list = [None] * len(items)
        for (kind, _key), indexes in groups.items():
            group = [items[i] for i in indexes]
            self._rows.observe(sum(item.rows for item in group))
            self._requests.observe(len(group))
            for i, result in zip(indexes, run_group(self.model, kind, group, self._unsplittable), strict=True):
                results[i] = result
        return results

    def _unsplittable(self, exc: Exception) -> None:
        """Once per model: its batches are run request by request (correct, but no faster)."""
        if self._warned:
            return
        self._warned = True
        entry = {"level": "warning", "msg": "batch result not split by rows", "model": self.model.cfg.name}
        sys.stderr.write(
            orjson.dumps({**entry, "error": str(exc), "effect": "each request runs alone"}).decode() + "\n"
        )

    def _done(self, batch: _Batch) -> None:
        if batch.timer is not None:
            batch.timer.cancel()
        if batch.expired:
            return
        try:
            results = batch.job.result()
        except BaseException as exc:  # a bug in the batcher itself: every request learns of it
            results = [(False, exc)] * len(batch.items)
        for item, (ok, value) in zip(batch.items, results, strict=True):
            if not item.future.done():
                if ok:
                    item.future.set_result(value)
                else:
                    item.future.set_exception(value)
        self._next()

    def _expire(self, batch: _Batch) -> None:
        """The batch ran past the scoring timeout: its requests get 504 and the next batch may start
        (the thread cannot be stopped; the memory of its requests stays reserved until it ends)."""
        batch.expired = True
        error = f"scoring took longer than {self.timeout:g} s"
        for item in batch.items:
            if not item.future.done():
                item.future.set_exception(HTTPError(504, error))
                if item.ticket is not None:
                    self.on_timeout(item.ticket, batch.job)
        self._next()

    def _next(self) -> None:
        self._running = None
        if self._pending:  # they waited while the last batch ran: go now
            self._flush()


def run_group(model, kind: str, group: list[Item], on_unsplittable=None) -> list[tuple[bool, object]]:
    """(ok, result or exception) per request: one call for the group, else one call per request.
    on_unsplittable(error): told when the call worked but its result had no entry per row."""
    if len(group) > 1:
        try:
            joined = _join(kind, [item.payload for item in group])
            return [(True, part) for part in _split(kind, _call(model, kind, joined), [i.rows for i in group])]
        except Unsplittable as exc:
            if on_unsplittable is not None:
                on_unsplittable(exc)
        except Exception:  # noqa: BLE001 - whatever it was, each request's own call tells whose it is
            pass
    out: list[tuple[bool, object]] = []
    for item in group:
        try:
            out.append((True, guard(_call, model, kind, item.payload)))
        except Exception as exc:  # noqa: BLE001 - handed to the request, which answers for it
            out.append((False, exc))
    return out


def _call(model, kind: str, payload):
    return model.predict(payload) if kind == ARRAYS else model.run_rows(payload)


def _join(kind: str, payloads: list):
    if kind == ROWS:
        return [row for rows in payloads for row in rows]
    import numpy as np

    return {name: np.concatenate([p[name] for p in payloads]) for name in payloads[0]}


class Unsplittable(ValueError):
    """A batch result without one entry per row: the requests are run one by one instead."""


def _split(kind: str, result, sizes: list[int]) -> list:
    total = sum(sizes)
    if kind == ARRAYS:
        for value in result.values():
            if getattr(value, "ndim", 0) == 0 or value.shape[0] != total:
                raise Unsplittable("an output without one entry per row")
        return [{k: v[a:b] for k, v in result.items()} for a, b in _bounds(sizes)]
    if isinstance(result, list) and len(result) == total:
        return [result[a:b] for a, b in _bounds(sizes)]
    if isinstance(result, dict) and result and all(isinstance(v, list) and len(v) == total for v in result.values()):
        return [{k: v[a:b] for k, v in result.items()} for a, b in _bounds(sizes)]
    raise Unsplittable("run() must return a list, or a dict of lists, with one entry per row")


def _bounds(sizes: list[int]):
    start = 0
    for n in sizes:
        yield start, start + n
        start += n


def _call_soon(loop, fn, *args) -> None:
    """From another thread: run fn on the event loop (unless the loop has closed: shutting down)."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass
