"""Data collection: nothing lost on SIGTERM, drops counted when full, HTTP sink, redaction, collector API."""

import asyncio
import json
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from runtime_support import KEY

H = {"Authorization": f"Bearer {KEY}"}
ONNX_BODY = b'{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}'


def collection_env(sink, **over):
    doc = {
        "enabled": True,
        "sampling": 1.0,
        "sink": sink,
        "queueSize": 50000,
        "batchSize": 500,
        "flushSeconds": 0.5,
        **over,
    }
    return json.dumps(doc)


async def _blast(url: str, n: int, concurrency: int = 32) -> list[str]:
    """n keep-alive POSTs over `concurrency` connections with a minimal HTTP/1.1 client.

    (httpx's async pool costs milliseconds per request on a busy 2-core machine; this costs ~50 us.)
    """
    parsed = httpx.URL(url)
    ids = [f"load-{i}" for i in range(n)]
    pending = iter(ids)
    head = (
        f"POST {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(ONNX_BODY)}\r\n"
    ).encode()

    async def worker():
        reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
        try:
            for rid in pending:
                writer.write(head + b"X-Request-ID: " + rid.encode() + b"\r\n\r\n" + ONNX_BODY)
                header = await reader.readuntil(b"\r\n\r\n")
                assert header.startswith(b"HTTP/1.1 200 "), header
                length = int(re.search(rb"(?i)content-length: *(\d+)", header).group(1))
                await reader.readexactly(length)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


def read_sink(root):
    records, files = [], sorted(root.rglob("*"))
    for f in files:
        if f.is_file():
            records.extend(json.loads(line) for line in f.read_text().splitlines())
    return records, [f for f in files if f.is_file()]


def test_20000_requests_then_sigterm_loses_nothing(start_server, tmp_path):
    sink = tmp_path / "collected"
    server = start_server(
        "onnx.json",
        MODELCTL_WORKERS=2,
        MODELCTL_ACCESS_LOG=0,
        MODELCTL_DATA_COLLECTION=collection_env(f"file://{sink}"),
    )
    ids = asyncio.run(_blast(server.url + "/v2/models/iris-onnx/infer", 20_000))
    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
    records, files = read_sink(sink)
    assert len(records) == 20_000
    assert sorted(r["requestId"] for r in records) == sorted(ids)
    r = records[0]
    assert r["model"] == "iris-onnx" and r["version"] == "1" and r["collection"] == "scoring"
    assert [[round(x, 4) for x in row] for row in r["inputs"]["features"]] == [[5.1, 3.5, 1.4, 0.2]]
    assert r["outputs"]["label"] == [0]
    assert datetime.fromisoformat(r["timestamp"]) <= datetime.now(timezone.utc)
    for f in files:  # model/version/yyyy/mm/dd/hh/<collection>-...jsonl, no temp files left behind
        rel = f.relative_to(sink).parts
        assert rel[:2] == ("iris-onnx", "1") and len(rel) == 7, rel
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\d{2}", "/".join(rel[2:6]))
        assert rel[6].startswith("scoring-") and rel[6].endswith(".jsonl")


def _metric(text: str, name: str, labels: str = "") -> float:
    for line in text.splitlines():
        if line.startswith(name + (("{" + labels) if labels else "")) or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_full_queue_drops_and_counts_but_requests_succeed(start_server, tmp_path):
    sink = tmp_path / "collected"
    server = start_server(
        "onnx.json",
        MODELCTL_DATA_COLLECTION=collection_env(f"file://{sink}", queueSize=5, batchSize=1000, flushSeconds=60),
    )
    url = server.url + "/v2/models/iris-onnx/infer"
    for _ in range(40):
        assert httpx.post(url, content=ONNX_BODY, headers=H).status_code == 200
    metrics = httpx.get(server.url + "/metrics", headers=H).text
    assert _metric(metrics, "modelctl_collector_dropped_total", 'reason="queue_full"') == 35
    assert _metric(metrics, "modelctl_requests_total", 'endpoint="infer",model="iris-onnx",status="200"') == 40
    assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
    records, _ = read_sink(sink)
    assert len(records) == 5  # what was queued reached the sink on shutdown


class _Ingest(BaseHTTPRequestHandler):
    received: list = []
    fail_next = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Ingest.fail_next:
            _Ingest.fail_next -= 1
            self.send_response(503)
            self.end_headers()
            return
        _Ingest.received.extend(json.loads(body)["records"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_http_sink_redaction_and_collector_api(start_server):
    ingest = ThreadingHTTPServer(("127.0.0.1", 0), _Ingest)
    _Ingest.received, _Ingest.fail_next = [], 1  # the first batch is refused once: retried, not lost
    threading.Thread(target=ingest.serve_forever, daemon=True).start()
    try:
        server = start_server(
            MODELCTL_DATA_COLLECTION=collection_env(
                f"http://127.0.0.1:{ingest.server_port}/ingest", batchSize=10, redact=["petal_width"]
            )
        )
        row = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}
        for i in range(12):
            r = httpx.post(
                server.url + "/score?model=iris-mlflow",
                json={"data": [row]},
                headers={**H, "X-Request-ID": f"mlflow-{i}"},
            )
            assert r.status_code == 200 and r.json() == {"predictions": [2]}
        for i in range(3):
            r = httpx.post(
                server.url + "/score?model=iris-custom",
                json={"data": [[5.1, 3.5, 1.4, 0.2]] * 2},
                headers={**H, "X-Request-ID": f"custom-{i}"},
            )
            assert r.status_code == 200
        assert server.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
    finally:
        ingest.shutdown()
    got = _Ingest.received
    scoring = [r for r in got if r["collection"] == "scoring" and r["model"] == "iris-mlflow"]
    assert sorted(r["requestId"] for r in scoring) == sorted(f"mlflow-{i}" for i in range(12))
    assert scoring[0]["inputs"]["data"][0] == {**row, "petal_width": "[redacted]"}
    assert scoring[0]["outputs"] == {"predictions": [2]}
    extra = [r for r in got if r["collection"] == "extra"]
    assert sorted(r["requestId"] for r in extra) == ["custom-0", "custom-1", "custom-2"]
    assert all(r["model"] == "iris-custom" and r["data"] == {"rows": 2} for r in extra)
    custom_scoring = [r for r in got if r["collection"] == "scoring" and r["model"] == "iris-custom"]
    assert len(custom_scoring) == 3 and custom_scoring[0]["outputs"] == {"label": [0, 0]}
