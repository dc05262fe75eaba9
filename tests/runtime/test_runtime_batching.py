"""Adaptive micro-batching against a real server: under concurrency each request gets exactly its own
rows, its own errors and its own collection record, on /score and the Open Inference Protocol path;
batches really form (the batch metrics say so); a script that does not declare BATCHABLE is not batched.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import struct
import subprocess

import httpx
import numpy as np
import pytest

from runtime_support import KEY

H = {"Authorization": f"Bearer {KEY}"}
WEIGHTS = (1.0, 10.0, 100.0, 1000.0)
CONCURRENCY = 64

SCRIPT = """
import json
{flag}

def init():
    pass

def run(raw):
    rows = json.loads(raw)["data"]
    if any(v < 0 for row in rows for v in row):
        raise ValueError("negative values are not allowed")
    return {{"y": [sum(w * v for w, v in zip({weights}, row)) for row in rows]}}
"""


@pytest.fixture(scope="module")
def batch_config(image_dir):
    """batch.json beside the shared test image: a linear regression (distinct rows → distinct outputs),
    a script that declares BATCHABLE and one that does not."""
    import joblib
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(7)
    X = rng.uniform(0, 10, size=(200, 4))
    est = LinearRegression().fit(X, X @ np.array(WEIGHTS) + 0.5)
    (image_dir / "models/linreg/1").mkdir(parents=True, exist_ok=True)
    joblib.dump(est, image_dir / "models/linreg/1/linreg.joblib")
    for name, flag in (("batch_ok.py", "BATCHABLE = True"), ("batch_plain.py", "")):
        (image_dir / "score" / name).write_text(SCRIPT.format(flag=flag, weights=WEIGHTS))
    models = [
        {"name": "linreg", "version": "1", "framework": "sklearn", "path": "models/linreg/1/linreg.joblib"},
        {
            "name": "scripted",
            "version": "1",
            "framework": "custom",
            "path": "models/linreg/1",
            "script": "score/batch_ok.py",
        },
        {
            "name": "plain",
            "version": "1",
            "framework": "custom",
            "path": "models/linreg/1",
            "script": "score/batch_plain.py",
        },
    ]
    (image_dir / "batch.json").write_text(json.dumps({"schemaVersion": 1, "image": "batch-test", "models": models}))
    return est


def _rows(i: int, n: int) -> list[list[float]]:
    """n rows no other request has: request i, row j."""
    return [[float(i), float(j), round(random.uniform(0, 1), 3), 0.25] for j in range(n)]


def _score(rows):
    return [sum(w * v for w, v in zip(WEIGHTS, row, strict=True)) for row in rows]


def _binary_infer(rows) -> tuple[bytes, dict]:
    """An OIP request with its tensor as binary data (the only way to send a NaN)."""
    raw = struct.pack(f"<{len(rows) * 4}d", *(v for row in rows for v in row))
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input",
                    "datatype": "FP64",
                    "shape": [len(rows), 4],
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    ).encode()
    return header + raw, {
        "Inference-Header-Content-Length": str(len(header)),
        "Content-Type": "application/octet-stream",
    }


async def _send_all(url: str, requests: list[tuple]) -> list[httpx.Response]:
    """Every request at once (one connection each), so that they meet in the server's batcher."""
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers=H, limits=limits, timeout=60) as client:
        start = asyncio.Event()

        async def one(rid, path, body, headers):
            await start.wait()
            return await client.post(path, content=body, headers={"X-Request-ID": rid, **headers})

        tasks = [asyncio.create_task(one(*r)) for r in requests]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*tasks)


def _histogram(metrics: str, name: str, model: str) -> tuple[float, float]:
    """(sum, count) of a histogram's series for one model."""
    values = {}
    for line in metrics.splitlines():
        for part in ("sum", "count"):
            if line.startswith(f'{name}_{part}{{model="{model}"}}'):
                values[part] = float(line.rsplit(" ", 1)[1])
    return values.get("sum", 0.0), values.get("count", 0.0)


def _records(sink) -> dict[str, dict]:
    records = [json.loads(line) for f in sorted(sink.rglob("*.jsonl")) for line in f.read_text().splitlines()]
    by_id = {r["requestId"]: r for r in records if r["collection"] == "scoring"}
    assert len(by_id) == len([r for r in records if r["collection"] == "scoring"]), "one record per request"
    return by_id


def _start(start_server, tmp_path, **env):
    sink = tmp_path / "collected"
    collection = {"enabled": True, "sampling": 1.0, "sink": f"file://{sink}", "flushSeconds": 0.2}
    server = start_server(
        "batch.json",
        MODELCTL_BATCH_MAX_SIZE=32,
        MODELCTL_BATCH_MAX_LATENCY_MS=20,  # generous: this machine is busy; batches must still form
        MODELCTL_DATA_COLLECTION=json.dumps(collection),
        **env,
    )
    return server, sink


def test_sklearn_score_and_infer_requests_each_get_their_own_rows(start_server, tmp_path, batch_config):
    server, sink = _start(start_server, tmp_path)
    est = batch_config
    sent = {}  # request id → (endpoint, rows)
    requests = []
    for i in range(CONCURRENCY):
        rows, rid = _rows(i, random.randint(1, 6)), f"req-{i}"
        if i % 3 == 0:
            body, headers = _binary_infer(rows)
            requests.append((rid, "/v2/models/linreg/infer", body, headers))
            sent[rid] = ("infer", rows)
        elif i % 3 == 1:
            doc = {"inputs": [{"name": "input", "datatype": "FP64", "shape": [len(rows), 4], "data": rows}]}
            requests.append((rid, "/v2/models/linreg/infer", json.dumps(doc).encode(), {}))
            sent[rid] = ("infer", rows)
        else:
            requests.append((rid, "/score?model=linreg", json.dumps({"data": rows}).encode(), {}))
            sent[rid] = ("score", rows)
    # two requests the model itself rejects (NaN passes validation, sklearn refuses it in predict) and one
    # that fails validation: each fails alone, their batch-mates are answered
    bad_rows = [[1.0, float("nan"), 2.0, 3.0]]
    for k in range(2):
        body, headers = _binary_infer(bad_rows)
        requests.insert(10 + 20 * k, (f"bad-nan-{k}", "/v2/models/linreg/infer", body, headers))
    requests.insert(5, ("bad-shape", "/score?model=linreg", json.dumps({"data": [[1.0, 2.0]]}).encode(), {}))
    big = _rows(1000, 40)  # more rows than maxBatchSize: predicted alone, outside the batcher
    requests.insert(30, ("big", "/score?model=linreg", json.dumps({"data": big}).encode(), {}))

    responses = dict(zip((r[0] for r in requests), asyncio.run(_send_all(server.url, requests)), strict=True))

    for rid in ("bad-nan-0", "bad-nan-1", "bad-shape"):
        assert responses[rid].status_code == 422, (rid, responses[rid].text)
        assert "error" in responses[rid].json()
    assert "NaN" in responses["bad-nan-0"].json()["error"]
    for rid, (endpoint, rows) in sent.items():
        resp = responses[rid]
        assert resp.status_code == 200, (rid, resp.text)
        expected = est.predict(np.asarray(rows))
        if endpoint == "score":
            got = resp.json()["predictions"]
        else:
            (out,) = resp.json()["outputs"]
            assert out["shape"] == [len(rows)]
            got = out["data"]
        assert np.allclose(got, expected, rtol=1e-9, atol=1e-6), (rid, got, expected)

    metrics = httpx.get(server.url + "/metrics", headers=H).text
    requests_sum, batches = _histogram(metrics, "modelctl_batch_requests", "linreg")
    assert batches >= 1 and requests_sum == CONCURRENCY + 2  # every valid request went through the batcher
    assert requests_sum / batches > 1, "several requests shared a predict call"
    rows_sum, row_batches = _histogram(metrics, "modelctl_batch_rows", "linreg")
    assert row_batches == batches and rows_sum == sum(len(rows) for _, rows in sent.values()) + 2
    assert np.allclose(responses["big"].json()["predictions"], est.predict(np.asarray(big)))
    wait_sum, waits = _histogram(metrics, "modelctl_batch_queue_wait_seconds", "linreg")
    assert waits == CONCURRENCY + 2 and wait_sum > 0
    promtool = shutil.which("promtool")  # Prometheus' own linter, where installed
    if promtool:
        check = subprocess.run([promtool, "check", "metrics"], input=metrics, text=True, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr

    assert server.stop() in (0, -15)
    records = _records(sink)
    assert set(records) == set(sent) | {"big"}, "one scoring record per answered request, none for the failed ones"
    assert records["big"]["inputs"] == {"data": big}
    for rid, (endpoint, rows) in sent.items():
        record = records[rid]
        if endpoint == "score":
            assert record["inputs"] == {"data": rows}
            assert record["outputs"]["predictions"] == responses[rid].json()["predictions"]
        else:
            assert np.allclose(record["inputs"]["input"], rows)
            assert np.allclose(record["outputs"]["predict"], responses[rid].json()["outputs"][0]["data"])


def test_batchable_script_gets_batches_and_a_bad_request_fails_alone(start_server, tmp_path, batch_config):
    server, sink = _start(start_server, tmp_path)
    sent, requests = {}, []
    for i in range(CONCURRENCY):
        rows, rid = _rows(i, random.randint(1, 5)), f"s-{i}"
        if i % 2:
            doc = {"inputs": [{"name": "data", "datatype": "FP64", "shape": [len(rows), 4], "data": rows}]}
            requests.append((rid, "/v2/models/scripted/infer", json.dumps(doc).encode(), {}))
        else:
            requests.append((rid, "/score?model=scripted", json.dumps({"data": rows}).encode(), {}))
        sent[rid] = rows
    for k in range(3):  # run() raises for these; in a batch, the whole call fails and is retried per request
        requests.insert(7 + 19 * k, (f"neg-{k}", "/score?model=scripted", b'{"data": [[1, -2, 3, 4]]}', {}))

    responses = dict(zip((r[0] for r in requests), asyncio.run(_send_all(server.url, requests)), strict=True))

    for k in range(3):
        resp = responses[f"neg-{k}"]
        assert resp.status_code == 422 and "negative values" in resp.json()["error"], resp.text
    for rid, rows in sent.items():
        resp = responses[rid]
        assert resp.status_code == 200, (rid, resp.text)
        if rid.startswith("s-") and int(rid[2:]) % 2:
            (out,) = resp.json()["outputs"]
            assert out["name"] == "y" and out["data"] == _score(rows)
        else:
            assert resp.json() == {"y": _score(rows)}
    metrics = httpx.get(server.url + "/metrics", headers=H).text
    requests_sum, batches = _histogram(metrics, "modelctl_batch_requests", "scripted")
    assert requests_sum == CONCURRENCY + 3 and requests_sum / batches > 1

    assert server.stop() in (0, -15)
    records = _records(sink)
    assert set(records) == set(sent)
    for rid, rows in sent.items():
        if int(rid[2:]) % 2 == 0:
            assert records[rid]["inputs"] == {"data": rows} and records[rid]["outputs"] == {"y": _score(rows)}
        else:
            assert records[rid]["outputs"] == {"y": _score(rows)}


def test_script_without_batchable_is_not_batched(start_server, tmp_path, batch_config):
    server, _ = _start(start_server, tmp_path)
    requests = [(f"p-{i}", "/score?model=plain", json.dumps({"data": _rows(i, 2)}).encode(), {}) for i in range(16)]
    responses = asyncio.run(_send_all(server.url, requests))
    for (_rid, _path, body, _), resp in zip(requests, responses, strict=True):
        assert resp.status_code == 200 and resp.json() == {"y": _score(json.loads(body)["data"])}
    metrics = httpx.get(server.url + "/metrics", headers=H).text
    assert _histogram(metrics, "modelctl_batch_requests", "plain") == (0.0, 0.0)
    server.stop()
    logs = [json.loads(line) for line in server.log_path.read_text().splitlines() if line.startswith("{")]
    off = [e for e in logs if e.get("msg") == "batching off for model"]
    assert [e["model"] for e in off] == ["plain"] and "BATCHABLE" in off[0]["reason"]
    (on,) = [e for e in logs if e.get("msg") == "batching"]
    assert on["models"] == ["linreg", "scripted"] and on["maxBatchSize"] == 32


def test_without_batching_nothing_is_batched(start_server, tmp_path, batch_config):
    server = start_server("batch.json")
    body = json.dumps({"data": _rows(1, 3)}).encode()
    responses = asyncio.run(_send_all(server.url, [(f"n-{i}", "/score?model=linreg", body, {}) for i in range(8)]))
    assert all(r.status_code == 200 for r in responses)
    metrics = httpx.get(server.url + "/metrics", headers=H).text
    assert _histogram(metrics, "modelctl_batch_requests", "linreg") == (0.0, 0.0)


def test_onnx_outputs_split_back_per_request(start_server, image_dir):
    import onnxruntime as ort

    server = start_server("onnx.json", MODELCTL_BATCH_MAX_SIZE=64, MODELCTL_BATCH_MAX_LATENCY_MS=20)
    session = ort.InferenceSession(str(image_dir / "models/iris-onnx/1/iris.onnx"), providers=["CPUExecutionProvider"])
    sent, requests = {}, []
    for i in range(32):
        rows = [
            [round(random.uniform(4, 8), 2), round(random.uniform(2, 4), 2), i / 8, j / 4] for j in range(1 + i % 4)
        ]
        doc = {"inputs": [{"name": "features", "datatype": "FP32", "shape": [len(rows), 4], "data": rows}]}
        requests.append((f"o-{i}", "/v2/models/iris-onnx/infer", json.dumps(doc).encode(), {}))
        sent[f"o-{i}"] = rows
    responses = asyncio.run(_send_all(server.url, requests))
    for (rid, *_), resp in zip(requests, responses, strict=True):
        assert resp.status_code == 200, resp.text
        label, proba = session.run(None, {"features": np.asarray(sent[rid], dtype=np.float32)})
        outputs = {o["name"]: o for o in resp.json()["outputs"]}
        assert outputs["label"]["data"] == label.tolist()
        assert outputs["probabilities"]["shape"] == list(proba.shape)
        assert np.allclose(outputs["probabilities"]["data"], proba.reshape(-1), atol=1e-6)
    metrics = httpx.get(server.url + "/metrics", headers=H).text
    requests_sum, batches = _histogram(metrics, "modelctl_batch_requests", "iris-onnx")
    assert requests_sum == 32 and requests_sum / batches > 1
