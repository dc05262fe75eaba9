"""`modelctl monitor`: metrics from a live runtime, stats and PSI drift from its collected data."""

import csv
import json
import math

import httpx
import numpy as np
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.monitor.drift import psi
from compiler.monitor.metrics import parse, quantile, traffic

from runtime_support import KEY

H = {"Authorization": f"Bearer {KEY}"}


def test_psi_separates_stable_from_shifted():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 5000)
    assert psi(base, rng.normal(0, 1, 5000)) < 0.02
    assert psi(base, rng.normal(1, 1, 5000)) > 0.25


def test_quantile_interpolates_like_histogram_quantile():
    buckets = {0.1: 50.0, 0.2: 100.0, math.inf: 100.0}
    assert quantile(0.5, buckets) == 0.1
    assert abs(quantile(0.75, buckets) - 0.15) < 1e-9
    before = parse('modelctl_requests_total{model="m",endpoint="infer",status="200"} 10\n', at=0)
    after = parse(
        'modelctl_requests_total{model="m",endpoint="infer",status="200"} 30\n'
        'modelctl_requests_total{model="m",endpoint="infer",status="500"} 10\n',
        at=10,
    )
    (row,) = traffic(before, after)
    assert row.total == 40 and row.rate == 3.0 and abs(row.server_error_rate - 10 / 30) < 1e-9


def test_monitor_command_end_to_end(start_server, tmp_path, iris):
    X, _ = iris
    sink = tmp_path / "collected"
    server = start_server(
        "onnx.json",
        MODELCTL_DATA_COLLECTION=json.dumps(
            {"enabled": True, "sampling": 1.0, "sink": f"file://{sink}", "flushSeconds": 0.2}
        ),
    )
    url = server.url + "/v2/models/iris-onnx/infer"
    for i in range(0, 150, 5):  # 30 requests of 5 rows, plus 3 bad ones
        body = {
            "inputs": [{"name": "features", "shape": [5, 4], "datatype": "FP32", "data": X[i : i + 5].ravel().tolist()}]
        }
        assert httpx.post(url, json=body, headers=H).status_code == 200
    for _ in range(3):
        assert httpx.post(url, json={"inputs": []}, headers=H).status_code == 422
    assert server.stop() in (0, -15)
    baseline = tmp_path / "train.csv"
    with baseline.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"features[{j}]" for j in range(4)])
        w.writerows(X.tolist())
    key_file = tmp_path / "key"
    key_file.write_text(KEY)

    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "monitor",
            "iris",
            "--collected",
            str(sink),
            "--baseline",
            str(baseline),
            "--since",
            "1h",
            "--json",
            "--fail-on-drift",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["collected"]["records"] == 30
    feats = {f["feature"]: f for f in report["collected"]["features"]}
    assert set(feats) == {f"features[{j}]" for j in range(4)}
    assert feats["features[0]"]["count"] == 150
    assert abs(feats["features[2]"]["mean"] - X[:, 2].mean()) < 1e-3
    assert all(f["drift"] == "stable" for f in feats.values())

    shifted = tmp_path / "shifted.csv"
    with shifted.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"features[{j}]" for j in range(4)])
        w.writerows((X + 2.0).tolist())
    result = runner.invoke(
        app, ["monitor", "iris", "--collected", str(sink), "--baseline", str(shifted), "--fail-on-drift"]
    )
    assert result.exit_code == 2, result.output
    assert "significant" in result.output and "features[0]" in result.output


def test_monitor_reads_live_metrics(start_server, tmp_path):
    server = start_server("onnx.json")
    url = server.url + "/v2/models/iris-onnx/infer"
    body = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}
    for _ in range(8):
        httpx.post(url, json=body, headers=H)
    httpx.post(url, json={"inputs": []}, headers=H)
    key_file = tmp_path / "key"
    key_file.write_text(KEY)
    runner = CliRunner()
    result = runner.invoke(
        app, ["monitor", "iris", "--url", server.url, "--key-file", str(key_file), "--interval", "0", "--json"]
    )
    assert result.exit_code == 0, result.output
    (row,) = [t for t in json.loads(result.output)["traffic"] if t["model"] == "iris-onnx"]
    assert row["total"] == 9 and row["p99_ms"] is not None and row["p99_ms"] > 0
    result = runner.invoke(app, ["monitor", "iris", "--url", server.url, "--interval", "0"])
    assert result.exit_code == 1 and "401" in result.output and "Traceback" not in result.output
    result = runner.invoke(app, ["monitor", "iris"])
    assert result.exit_code == 1 and "--url" in result.output
