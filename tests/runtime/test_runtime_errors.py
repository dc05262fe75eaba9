"""Bad inputs get clear 4xx JSON errors, never a 500, and never hurt the next request."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from runtime_support import KEY

H = {"Authorization": f"Bearer {KEY}"}
GOOD = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}]}


def _tensor(**over):
    t = {"name": "features", "shape": [1, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2]}
    t.update(over)
    return {"inputs": [t]}


CASES = [
    # (method, path, body (bytes or JSON), expected status, text the error must mention)
    ("POST", "/v2/models/iris-sk/infer", b'{"inputs": [', 400, "malformed JSON"),
    ("POST", "/v2/models/iris-sk/infer", b"\xff\xfe", 400, "malformed JSON"),
    ("POST", "/v2/models/iris-sk/infer", [1, 2], 422, "JSON object"),
    ("POST", "/v2/models/iris-sk/infer", {"inputs": []}, 422, "inputs"),
    ("POST", "/v2/models/iris-sk/infer", {"inputs": [7]}, 422, "name"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(shape=[1, 3]), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(shape=[2, 4]), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(shape="x"), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(shape=[1, -4]), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(datatype="FP32"), 422, "FP64"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(datatype="COMPLEX"), 422, "datatype"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(data=["a", "b", "c", "d"]), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(data=[[1, 2], [3]]), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(data=None), 422, "features"),
    ("POST", "/v2/models/iris-sk/infer", _tensor(name="other"), 422, "other"),
    ("POST", "/v2/models/iris-sk/infer", {**GOOD, "outputs": [{"name": "nope"}]}, 422, "nope"),
    ("POST", "/v2/models/iris-sk/infer", {"inputs": [GOOD["inputs"][0], GOOD["inputs"][0]]}, 422, "twice"),
    (
        "POST",
        "/v2/models/iris-onnx/infer",
        {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1e39, 0, 0, 0]}]},
        200,
        "",
    ),
    ("POST", "/v2/models/nope/infer", GOOD, 404, "nope"),
    ("POST", "/v2/models/iris-sk/versions/9/infer", GOOD, 404, "version"),
    ("GET", "/v2/models/iris-sk/infer", None, 405, "GET"),
    ("GET", "/nothing", None, 404, "no such endpoint"),
    ("POST", "/score", b"not json", 400, "malformed JSON"),
    ("POST", "/score", {"rows": []}, 422, "data"),
    ("POST", "/score", {"data": [[1, 2]]}, 422, "shape"),
    ("POST", "/score", {"data": [["a", "b", "c", "d"]]}, 422, "data"),
    ("POST", "/score", {"data": [{"a": 1}]}, 422, "feature names"),
    ("POST", "/score?model=nope", {"data": [[1, 2, 3, 4]]}, 404, "nope"),
    ("POST", "/score?model=iris-mlflow", {"data": [{"sepal_length": 1}]}, 422, "sepal_width"),
    ("POST", "/score?model=iris-custom", {"data": 5}, 422, "data"),
    ("POST", "/score?model=iris-custom", {"data": [["x"]]}, 422, "scoring script"),
]


@pytest.mark.parametrize("method,path,body,status,text", CASES)
def test_bad_input_gives_a_clear_error(shared_server, method, path, body, status, text):
    kw = {"content": body} if isinstance(body, bytes) else ({"json": body} if body is not None else {})
    r = httpx.request(method, shared_server.url + path, headers=H, timeout=10, **kw)
    assert r.status_code == status, r.text
    if status != 200:
        assert r.headers["content-type"] == "application/json"
        assert text in r.json()["error"]
    # the server is unharmed: a good request right after still works
    ok = httpx.post(shared_server.url + "/v2/models/iris-sk/infer", json=GOOD, headers=H, timeout=10)
    assert ok.status_code == 200 and ok.json()["outputs"][0]["data"] == [0]


def test_score_variants(shared_server):
    url = shared_server.url
    r = httpx.post(url + "/score", json={"data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]}, headers=H)
    assert r.json() == {"predictions": [0, 2]}
    rows = [{"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}]
    r = httpx.post(url + "/score?model=iris-mlflow", json={"data": rows}, headers=H)
    assert r.json() == {"predictions": [2]}
    r = httpx.post(url + "/score?model=iris-custom", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers=H)
    assert r.json() == {"label": [0]}
    r = httpx.post(
        url + "/v2/models/iris-custom/infer",
        headers=H,
        json={"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [6.7, 3.0, 5.2, 2.3]}]},
    )
    assert r.json()["outputs"] == [{"name": "label", "datatype": "INT64", "shape": [1], "data": [2]}]


def test_request_id_is_honoured_and_generated(shared_server):
    r = httpx.get(shared_server.url + "/v2/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r1 = httpx.get(shared_server.url + "/v2/health/live")
    r2 = httpx.get(shared_server.url + "/v2/health/live")
    assert len(r1.headers["x-request-id"]) >= 16 and r1.headers["x-request-id"] != r2.headers["x-request-id"]


def test_body_over_the_limit_is_413(start_server):
    server = start_server(config="onnx.json", MODELCTL_MAX_BODY_BYTES=1000)
    big = {"inputs": [{"name": "features", "shape": [100, 4], "datatype": "FP32", "data": [1.0] * 400}]}
    r = httpx.post(server.url + "/v2/models/iris-onnx/infer", json=big, headers=H)
    assert r.status_code == 413 and "1000" in r.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(10):
            yield b" " * 500

    r = httpx.post(server.url + "/v2/models/iris-onnx/infer", content=chunks(), headers=H)
    assert r.status_code == 413
    small = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1.0] * 4}]}
    assert httpx.post(server.url + "/v2/models/iris-onnx/infer", json=small, headers=H).status_code == 200


def test_slow_scoring_times_out_with_504_and_others_still_served(start_server):
    server = start_server(MODELCTL_TIMEOUT_SECONDS=1)
    r = httpx.post(server.url + "/score?model=iris-custom", json={"data": ["sleep", 3]}, headers=H, timeout=10)
    assert r.status_code == 504 and "1 s" in r.json()["error"]
    r = httpx.post(server.url + "/score?model=iris-custom", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers=H)
    assert r.status_code == 200 and r.json() == {"label": [0]}


def test_failing_init_reports_not_ready_with_the_error(start_server):
    server = start_server(config="failing.json", ready=False)
    server.wait_live()
    for _ in range(100):
        r = httpx.get(server.url + "/v2/health/ready")
        if r.json()["models"]["broken"]["state"] != "loading":
            break
    assert r.status_code == 503
    assert r.json()["models"]["broken"]["state"] == "failed"
    assert "cannot reach the feature store" in r.json()["models"]["broken"]["error"]
    r = httpx.get(server.url + "/v2/models/broken/ready", headers=H)
    assert r.status_code == 503 and "cannot reach the feature store" in r.json()["error"]
    r = httpx.post(server.url + "/score?model=broken", json={"data": []}, headers=H)
    assert r.status_code == 503 and "not ready" in r.json()["error"]
    # the healthy model in the same image still serves, and the process did not exit
    r = httpx.post(server.url + "/score?model=iris-sk", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers=H)
    assert r.status_code == 200
    assert server.proc.poll() is None
    hc = subprocess.run(
        [sys.executable, "-m", "modelctl_runtime.healthcheck"],
        cwd=server.log_path.parent,
        env={
            "PYTHONPATH": str(Path(server.proc.args[0]).parent),
            "MODELCTL_PORT": str(server.port),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
    )
    assert hc.returncode == 1


def test_invalid_configuration_exits_with_a_clear_message(start_server):
    server = start_server(ready=False, MODELCTL_AUTH_MODE="key", MODELCTL_AUTH_KEYS="")
    assert server.proc.wait(30) == 2
    out = server.output()
    assert "MODELCTL_AUTH_KEYS" in out and "Traceback" not in out


def test_schemathesis_finds_no_server_error(shared_server):
    r = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            shared_server.url + "/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            "-H",
            f"Authorization: Bearer {KEY}",
            "--request-timeout",
            "10",
            "--phases",
            "examples,coverage,fuzzing",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert httpx.get(shared_server.url + "/v2/health/ready").status_code == 200
