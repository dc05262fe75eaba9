"""The batcher on its own (a real event loop, thread pool and metrics; a small deterministic model):
how batches form, split back, fall back per request, and time out."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from compiler.runtime.batching import ARRAYS, ROWS, Batcher, Item, arrays_key, run_group
from compiler.runtime.errors import HTTPError
from compiler.runtime.memory import Ticket
from compiler.runtime.metrics import Metrics


class Doubler:
    """y = 2x per row; refuses negative values (as a model refuses NaN); remembers each call's rows."""

    inline = True

    def __init__(self, delay: float = 0.0, shape_bug: bool = False):
        self.cfg = SimpleNamespace(name="doubler", version="1")
        self.calls: list[int] = []
        self.delay, self.shape_bug = delay, shape_bug
        self.lock = threading.Lock()

    def predict(self, inputs: dict) -> dict:
        (x,) = inputs.values()
        with self.lock:
            self.calls.append(len(x))
        time.sleep(self.delay)
        if (x < 0).any():
            raise ValueError("negative input")
        y = 2 * x[:, 0]
        return {"y": y[:1] if self.shape_bug else y}

    def run_rows(self, rows: list):
        if any(v < 0 for row in rows for v in row):
            raise ValueError("negative input")
        return [2 * row[0] for row in rows]


def _item(payload, kind=ARRAYS) -> Item:
    if kind == ARRAYS:
        key, rows = arrays_key(payload)
    else:
        key, rows = None, len(payload)
    return Item(kind, key, payload, rows, None, None, "rid", 0.0)


def _inputs(*values) -> dict:
    return {"x": np.array([[float(v)] for v in values])}


def test_one_call_for_the_group_split_back_by_rows():
    model = Doubler()
    group = [_item(_inputs(1, 2)), _item(_inputs(3)), _item(_inputs(4, 5, 6))]
    results = run_group(model, ARRAYS, group)
    assert model.calls == [6]
    assert [list(r["y"]) for ok, r in results if ok] == [[2, 4], [6], [8, 10, 12]]


def test_a_failing_batch_is_retried_per_request_and_only_the_bad_one_fails():
    model = Doubler()
    group = [_item(_inputs(1)), _item(_inputs(-1)), _item(_inputs(3, 4))]
    told = []
    results = run_group(model, ARRAYS, group, told.append)
    assert told == []  # a failing call is no unsplittable result
    assert model.calls == [4, 1, 1, 2]  # the batch, then each request alone
    assert results[0][0] and list(results[0][1]["y"]) == [2]
    assert not results[1][0] and isinstance(results[1][1], HTTPError) and results[1][1].status == 422
    assert results[2][0] and list(results[2][1]["y"]) == [6, 8]


def test_a_result_without_one_entry_per_row_is_not_split_but_run_per_request():
    model = Doubler(shape_bug=True)
    told = []
    results = run_group(model, ARRAYS, [_item(_inputs(1, 2)), _item(_inputs(3))], told.append)
    assert model.calls == [3, 2, 1]
    assert [str(e) for e in told] == ["an output without one entry per row"]
    assert [list(r["y"]) for _, r in results] == [[2], [6]]  # each request's own (odd) result, unmixed


def test_script_rows_split_back():
    model = Doubler()
    results = run_group(model, ROWS, [_item([[1], [2]], ROWS), _item([[5]], ROWS), _item([[-1]], ROWS)])
    assert [r for ok, r in results if ok] == [[2, 4], [10]]
    assert isinstance(results[2][1], HTTPError)


def test_arrays_key_needs_one_common_first_axis():
    assert arrays_key({"a": np.zeros((3, 2)), "b": np.zeros((3,))})[1] == 3
    assert arrays_key({"a": np.zeros((3, 2)), "b": np.zeros((2, 2))}) is None
    assert arrays_key({"a": np.zeros(())}) is None
    # different trailing shapes or dtypes never share a call
    assert arrays_key({"a": np.zeros((1, 2))})[0] != arrays_key({"a": np.zeros((1, 3))})[0]
    assert arrays_key({"a": np.zeros((1, 2))})[0] != arrays_key({"a": np.zeros((1, 2), dtype="float32")})[0]


async def _submit_all(batcher: Batcher, payloads: list[dict]) -> list:
    futures = []
    for p in payloads:
        key, rows = arrays_key(p)
        futures.append(batcher.submit(ARRAYS, key, p, rows, "rid", Ticket()))
    return await asyncio.gather(*futures, return_exceptions=True)


def _batcher(model, loop, executor, metrics, **kw) -> Batcher:
    settings = {"max_rows": 8, "max_latency": 0.05, "timeout": 10.0, **kw}
    late = []
    batcher = Batcher(
        model,
        executor,
        metrics=metrics,
        queue=None,
        on_timeout=lambda ticket, job: late.append(ticket),
        loop=loop,
        **settings,
    )
    batcher.late = late  # type: ignore[attr-defined]
    return batcher


@pytest.fixture
def executor():
    with ThreadPoolExecutor(4) as pool:
        yield pool


def test_concurrent_requests_share_calls_of_at_most_max_rows(executor):
    model, metrics = Doubler(), Metrics()

    async def main():
        batcher = _batcher(model, asyncio.get_running_loop(), executor, metrics, max_rows=8)
        return await _submit_all(batcher, [_inputs(i, i + 0.5) for i in range(10)])  # 20 rows

    results = asyncio.run(main())
    assert [list(r["y"]) for r in results] == [[2 * i, 2 * i + 1] for i in range(10)]
    assert sum(model.calls) == 20 and max(model.calls) <= 8 and len(model.calls) == 3
    text = metrics.render().decode()
    assert 'modelctl_batch_requests_count{model="doubler"} 3.0' in text
    assert 'modelctl_batch_rows_sum{model="doubler"} 20.0' in text
    assert 'modelctl_batch_queue_wait_seconds_count{model="doubler"} 10.0' in text


def test_a_lone_request_waits_at_most_max_latency(executor):
    model = Doubler()

    async def main():
        batcher = _batcher(model, asyncio.get_running_loop(), executor, Metrics(), max_latency=0.2)
        start = time.perf_counter()
        (result,) = await _submit_all(batcher, [_inputs(7)])
        return result, time.perf_counter() - start

    result, elapsed = asyncio.run(main())
    assert list(result["y"]) == [14] and model.calls == [1]
    assert elapsed >= 0.19  # it waited for company (0.2 s), and then went alone


def test_requests_arriving_during_a_batch_go_together_next(executor):
    model = Doubler(delay=0.2)

    async def main():
        batcher = _batcher(model, asyncio.get_running_loop(), executor, Metrics(), max_latency=0.0)
        first = asyncio.ensure_future(_submit_all(batcher, [_inputs(1)]))
        await asyncio.sleep(0.05)  # the first batch is running now
        later = await _submit_all(batcher, [_inputs(i) for i in range(2, 6)])
        return await first, later

    first, later = asyncio.run(main())
    assert model.calls == [1, 4]  # adaptive: the four that queued meanwhile shared one call
    assert [list(r["y"]) for r in first + later] == [[2], [4], [6], [8], [10]]


def test_a_batch_past_the_timeout_answers_504_and_the_next_batch_runs(executor):
    model = Doubler(delay=0.5)

    async def main():
        batcher = _batcher(model, asyncio.get_running_loop(), executor, Metrics(), max_latency=0.0, timeout=0.1)
        ticket = Ticket()
        ticket.cost = 1000
        key, rows = arrays_key(_inputs(1))
        slow = batcher.submit(ARRAYS, key, _inputs(1), rows, "rid", ticket)
        with pytest.raises(HTTPError) as err:
            await slow
        assert err.value.status == 504 and batcher.late == [ticket]  # its memory is released when the thread ends
        model.delay = 0.0
        return await _submit_all(batcher, [_inputs(3)])

    (result,) = asyncio.run(main())
    assert list(result["y"]) == [6]


def test_a_stopped_pool_answers_503_instead_of_hanging():
    pool = ThreadPoolExecutor(1)
    pool.shutdown()

    async def main():
        batcher = _batcher(Doubler(), asyncio.get_running_loop(), pool, Metrics(), max_latency=0.0)
        return await asyncio.wait_for(_submit_all(batcher, [_inputs(1), _inputs(2)]), 5)

    results = asyncio.run(main())
    assert [(type(r), r.status) for r in results] == [(HTTPError, 503)] * 2
