"""The per-worker memory budget (compiler/runtime/memory.py): where it comes from, the ledger, and the
application's admission control driven in-process through ASGI (no server, no sleeps): a request
whose estimated memory does not fit now gets a JSON 503 with Retry-After after its body was drained,
one that could never fit a 413; reservations come back when requests end, when a timed-out scoring
thread finishes, and when queued collection records are written. Plus one measurement: what a 4 MB
body really costs (peak RSS of a fresh process) stays under the estimate the budget charges."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from compiler.runtime.errors import ConfigError
from compiler.runtime.memory import (
    BINARY_BYTE_COST,
    COLLECTION_SHARE,
    JSON_BYTE_COST,
    Admission,
    MiB,
    Ticket,
    derive_budget,
    memory_limit,
)
from compiler.runtime.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris" / "artifacts" / "iris.joblib"
ROW = b"[5.1,3.5,1.4,0.2]"
SLEEPER = "import json, time\n\ndef init():\n    pass\n\ndef run(raw):\n    time.sleep(json.loads(raw)['data'][0])\n    return [1]\n"


def score_body(size: int) -> bytes:
    """A /score body of about `size` bytes of iris rows."""
    return b'{"data":[' + b",".join([ROW] * max(1, size // (len(ROW) + 1))) + b"]}"


# ---- where the limit and the budget come from ------------------------------------------------------


def test_memory_limit_reads_cgroup_v2_then_v1_capped_by_the_machine(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24683584 kB\nMemFree: 1 kB\n")
    total = 24683584 * 1024
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("536870912\n")
    assert memory_limit(v2, meminfo) == (536870912, str(v2 / "memory.max"))
    (v2 / "memory.max").write_text("max\n")
    assert memory_limit(v2, meminfo) == (total, str(meminfo))
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("268435456\n")
    assert memory_limit(v1, meminfo) == (268435456, str(v1 / "memory" / "memory.limit_in_bytes"))
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert memory_limit(v1, meminfo)[0] == total
    (v1 / "memory" / "memory.limit_in_bytes").write_text(str(total * 2))  # above the machine's memory
    assert memory_limit(v1, meminfo)[0] == total
    assert memory_limit(tmp_path / "none", meminfo)[0] == total


def test_derived_budget_leaves_headroom_the_supervisor_and_every_worker():
    limit = 512 * MiB
    one = derive_budget(limit, 1, anon=90 * MiB, shared=45 * MiB)
    two = derive_budget(limit, 2, anon=90 * MiB, shared=45 * MiB)
    headroom = int(limit * 0.10)
    assert one == limit - headroom - 90 * MiB - 45 * MiB
    assert two == (limit - headroom - 2 * 90 * MiB - 45 * MiB - 32 * MiB) // 2
    assert 2 * two + 2 * 90 * MiB + 45 * MiB < limit  # workers x budget fits, with their own memory
    assert derive_budget(limit, 8, anon=90 * MiB, shared=45 * MiB) < 0  # 8 such workers do not fit at all


def _config(tmp_path: Path, custom: bool = False) -> Path:
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "iris.joblib").write_bytes(IRIS.read_bytes())
    models = [
        {
            "name": "iris",
            "version": "1",
            "framework": "sklearn",
            "path": "models/iris.joblib",
            "signature": {
                "inputs": [{"name": "features", "dtype": "float32", "shape": [-1, 4]}],
                "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]}],
            },
        }
    ]
    doc = {"schemaVersion": 1, "image": "t", "models": models}
    if custom:
        (tmp_path / "sleeper.py").write_text(SLEEPER)
        models.append({"name": "sleeper", "version": "1", "framework": "custom", "path": "models"})
        doc["scoring"] = {"script": "sleeper.py"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return path


def test_an_explicit_budget_must_fit_the_memory_limit_with_every_worker(tmp_path):
    env = {
        "MODELCTL_CONFIG": str(_config(tmp_path)),
        "MODELCTL_AUTH_MODE": "none",
        "MODELCTL_WORKERS": "4",
        "MODELCTL_MEMORY_LIMIT_BYTES": str(1024 * MiB),
    }
    assert load_settings({**env, "MODELCTL_MEMORY_BUDGET_BYTES": str(256 * MiB)}).memory_budget_bytes == 256 * MiB
    with pytest.raises(ConfigError, match="exceeds the memory limit"):
        load_settings({**env, "MODELCTL_MEMORY_BUDGET_BYTES": str(257 * MiB)})
    settings = load_settings(env)
    assert settings.memory_budget_bytes is None and settings.memory_limit_bytes == 1024 * MiB
    assert settings.memory_limit_source == "MODELCTL_MEMORY_LIMIT_BYTES"


# ---- the ledger ---------------------------------------------------------------------------------------


class FakeQueue:
    max_held_bytes = 0
    held = 0

    def held_bytes(self):
        return self.held


def test_ledger_admits_what_fits_and_counts_queued_records():
    queue = FakeQueue()
    admission = Admission(1000, queue)
    assert queue.max_held_bytes == 1000 // COLLECTION_SHARE
    a, b = Ticket(), Ticket()
    assert admission.try_reserve(a, 600) and a.cost == 600
    assert not admission.try_reserve(b, 401) and b.cost == 0 and admission.free() == 400
    assert admission.try_reserve(b, 400) and admission.reserved == 1000
    admission.release(a)
    queue.held = 500  # records queued for collection still hold their requests' memory
    assert not admission.try_reserve(a, 101) and admission.try_reserve(a, 100)
    admission.release(a)
    admission.release(b)
    assert admission.reserved == 0 and a.cost == b.cost == 0
    assert Ticket().estimate(10, 100) == 10 * JSON_BYTE_COST + 100 * BINARY_BYTE_COST
    assert Ticket(custom=True).estimate(10) == 2 * Ticket().estimate(10)  # custom scripts parse again


# ---- admission in the application (in-process ASGI) ----------------------------------------------------


class Upload:
    """An ASGI receive(): the body in chunks; with `hold`, it stops after the first chunk until released."""

    def __init__(self, body: bytes, chunk: int = 8192, hold: bool = False):
        self.chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
        self.given = 0
        self.gate = asyncio.Event()
        if not hold:
            self.gate.set()

    async def __call__(self):
        if self.given >= len(self.chunks):
            return {"type": "http.disconnect"}
        if self.given == 1:
            await self.gate.wait()
        self.given += 1
        return {"type": "http.request", "body": self.chunks[self.given - 1], "more_body": self.given < len(self.chunks)}

    @property
    def drained(self) -> bool:
        return self.given == len(self.chunks)


async def call(app, path: str, upload: Upload, length: int | None, query: bytes = b""):
    sent = []

    async def send(message):
        sent.append(message)

    headers = [(b"content-type", b"application/json")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    scope = {"type": "http", "method": "POST", "path": path, "query_string": query, "headers": headers}
    await app(scope, upload, send)
    return sent[0]["status"], dict(sent[0]["headers"]), orjson.loads(sent[1]["body"])


async def post(app, body: bytes, chunked: bool = False, path: str = "/score", query: bytes = b""):
    return await call(app, path, Upload(body), None if chunked else len(body), query)


class Running:
    """The App with its lifespan started (models loaded, budget set)."""

    def __init__(self, tmp_path: Path, budget: int, custom: bool = False, **env: str):
        from compiler.runtime.app import App

        settings = load_settings(
            {
                "MODELCTL_CONFIG": str(_config(tmp_path, custom)),
                "MODELCTL_AUTH_MODE": "none",
                "MODELCTL_WORKERS": "1",
                "MODELCTL_ACCESS_LOG": "0",
                "MODELCTL_MEMORY_BUDGET_BYTES": str(budget),
                **env,
            }
        )
        self.app = App(settings)
        self._events: asyncio.Queue = asyncio.Queue()

    async def __aenter__(self):
        started = asyncio.Event()

        async def send(message):
            if message["type"] == "lifespan.startup.complete":
                started.set()

        await self._events.put({"type": "lifespan.startup"})
        self._task = asyncio.create_task(self.app.lifespan(self._events.get, send))
        await asyncio.wait_for(started.wait(), 60)
        return self.app

    async def __aexit__(self, *exc):
        await self._events.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(self._task, 60)


def test_a_request_that_does_not_fit_now_gets_503_with_retry_after_after_its_body_is_drained(tmp_path):
    body = score_body(30_000)
    cost = len(body) * JSON_BYTE_COST
    budget = cost + cost // 2  # one such request fits, two do not

    async def scenario():
        async with Running(tmp_path, budget) as app:
            slow = Upload(body, hold=True)  # a client still uploading holds its reservation
            first = asyncio.create_task(call(app, "/score", slow, len(body)))
            await wait_for(lambda: app.admission.reserved == cost)
            second = Upload(body)
            status, headers, doc = await call(app, "/score", second, len(body))
            assert status == 503 and headers[b"retry-after"] == b"1"
            assert headers[b"content-type"] == b"application/json" and "busy" in doc["error"]
            assert second.drained  # read to the end: the client gets the answer, not a reset connection
            status, _, doc = await post(app, body, chunked=True)  # no Content-Length: counted while streaming
            assert status == 503 and "retry after 1 s" in doc["error"]
            slow.gate.set()
            status, _, doc = await first
            assert status == 200 and len(doc["predictions"]) == body.count(b"[") - 1
            assert app.admission.reserved == 0
            assert (await post(app, body))[0] == 200  # the retry succeeds
            assert (await post(app, body, chunked=True))[0] == 200
            assert app.admission.reserved == 0
            text = app.metrics.render().decode()
            assert 'modelctl_requests_rejected_total{reason="memory"} 2.0' in text
            assert sample(text, "modelctl_memory_budget_bytes") == budget

    asyncio.run(scenario())


def test_a_request_that_could_never_fit_gets_413_and_small_ones_still_pass(tmp_path):
    body = score_body(60_000)

    async def scenario():
        async with Running(tmp_path, len(body) * JSON_BYTE_COST - 1) as app:
            for chunked in (False, True):
                status, _, doc = await post(app, body, chunked=chunked)
                assert status == 413 and "more than this worker's budget" in doc["error"], doc
                assert f"the largest JSON body it accepts is {app.admission.budget // JSON_BYTE_COST}" in doc["error"]
            assert (await post(app, score_body(1000)))[0] == 200
            assert app.admission.reserved == 0

    asyncio.run(scenario())


def test_binary_tensor_data_is_charged_less_than_json(tmp_path):
    import numpy as np

    rows = np.tile(np.array([5.1, 3.5, 1.4, 0.2], dtype="<f4"), (4000, 1))
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "features",
                    "datatype": "FP32",
                    "shape": list(rows.shape),
                    "parameters": {"binary_data_size": rows.nbytes},
                }
            ]
        }
    )
    body = header + rows.tobytes()
    cost = len(header) * JSON_BYTE_COST + rows.nbytes * BINARY_BYTE_COST

    async def scenario():
        async with Running(tmp_path, cost) as app:  # exactly enough: as JSON it would be a 413
            sent = []

            async def send(message):
                sent.append(message)

            scope = {
                "type": "http",
                "method": "POST",
                "path": "/v2/models/iris/infer",
                "query_string": b"",
                "headers": [
                    (b"content-length", str(len(body)).encode()),
                    (b"inference-header-content-length", str(len(header)).encode()),
                ],
            }
            await app(scope, Upload(body), send)
            assert sent[0]["status"] == 200, sent[1]["body"][:300]

    asyncio.run(scenario())


def test_a_timed_out_scoring_thread_keeps_its_reservation_until_it_ends(tmp_path):
    body = b'{"data":[0.6]}'

    async def scenario():
        async with Running(tmp_path, 10 * MiB, custom=True, MODELCTL_TIMEOUT_SECONDS="0.1") as app:
            status, _, doc = await post(app, body, query=b"model=sleeper")
            assert status == 504, doc
            assert app.admission.reserved == len(body) * JSON_BYTE_COST * 2  # the thread still runs
            await wait_for(lambda: app.admission.reserved == 0, timeout=10)

    asyncio.run(scenario())


def test_queued_collection_records_hold_their_memory_until_written_and_are_capped(tmp_path):
    collected = tmp_path / "collected"
    body = score_body(20_000)
    cost = len(body) * JSON_BYTE_COST
    collection = {"enabled": True, "sink": f"file://{collected}", "batchSize": 1000, "flushSeconds": 0.3}

    async def scenario():
        # the queue may hold a quarter of the budget: one record of this size, not two
        async with Running(
            tmp_path, cost * COLLECTION_SHARE + cost, MODELCTL_DATA_COLLECTION=json.dumps(collection)
        ) as app:
            queue = app.queue
            assert (await post(app, body))[0] == 200
            assert queue.held_bytes() == cost and app.admission.reserved == 0
            assert (await post(app, body))[0] == 200  # served; its record dropped (the queue's share is taken)
            assert b'modelctl_collector_dropped_total{reason="queue_full"} 1.0' in app.metrics.render()
            await wait_for(lambda: queue.held_bytes() == 0, timeout=10)  # written by the next flush
            assert (await post(app, body))[0] == 200 and queue.held_bytes() == cost
        records = [line for p in collected.rglob("*.jsonl") for line in p.read_text().splitlines()]
        assert len(records) == 2 and queue.held_bytes() == 0  # close() drained the last one

    asyncio.run(scenario())


def sample(text: str, name: str) -> float:
    """The value of an unlabelled sample in Prometheus text."""
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


async def wait_for(predicate, timeout: float = 10.0) -> None:
    """Poll `predicate` on the event loop (the app's own tasks keep running) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out waiting for the condition"
        await asyncio.sleep(0.01)


# ---- what a large body really costs -------------------------------------------------------------------

MEASURE = textwrap.dedent("""
    import asyncio, json, sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from pathlib import Path
    from test_runtime_memory import Running, post, score_body

    def rss():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024

    async def main(kind):
        body = score_body(4_000_000)
        if kind == "infer":
            rows = json.loads(body)["data"]
            body = json.dumps({"inputs": [{"name": "features", "datatype": "FP32", "shape": [len(rows), 4],
                                           "data": rows}]}, separators=(",", ":")).encode()
            del rows
        path = "/score" if kind == "score" else "/v2/models/iris/infer"
        async with Running(Path(sys.argv[3]), 1 << 30) as app:
            assert (await post(app, score_body(200)))[0] == 200  # warm: lazy imports, first-call caches
            open("/proc/self/clear_refs", "w").write("5")  # reset this process's peak RSS
            before, _ = rss()
            status = (await post(app, body, path=path))[0]
            _, peak = rss()
        print(json.dumps({"status": status, "bytes": len(body), "peak": peak - before}))

    asyncio.run(main(sys.argv[4]))
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("kind", ["score", "infer"])
def test_a_large_body_costs_less_memory_than_the_budget_charges(tmp_path, kind):
    """Measured, not assumed: peak RSS of a fresh process scoring one ~4 MB JSON body, against the
    estimate the budget charges (JSON_BYTE_COST per byte). Numbers: docs/runtime.md."""
    script = tmp_path / "measure.py"
    script.write_text(MEASURE)
    run = subprocess.run(
        [sys.executable, str(script), str(REPO), str(Path(__file__).parent), str(tmp_path), kind],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    m = json.loads(run.stdout.strip().splitlines()[-1])
    ratio = m["peak"] / m["bytes"]
    print(f"{kind}: {m['bytes']} bytes, peak RSS +{m['peak'] / MiB:.1f} MiB = {ratio:.1f}x the body")
    assert m["status"] == 200
    assert ratio < JSON_BYTE_COST, f"{kind} took {ratio:.1f}x its body; the budget charges {JSON_BYTE_COST}x"
    assert ratio > JSON_BYTE_COST / 4, f"{kind} took only {ratio:.1f}x: the estimate is far too pessimistic"
