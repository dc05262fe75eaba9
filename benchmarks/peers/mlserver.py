"""MLServer (Seldon's Open Inference Protocol server) serving the benchmark's sklearn model.

A model repository folder: settings.json (HTTP port, `parallel_workers` = the worker count every
server gets, no gRPC/metrics ports in use) and iris/model-settings.json (mlserver_sklearn, the same
joblib file; with batching: MLServer's adaptive batching, `max_batch_size`/`max_batch_time`).
Requests are single-row V2 inference requests, MLServer's native format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROW_REQUEST = {"inputs": [{"name": "input-0", "shape": [1, 4], "datatype": "FP64", "data": None}]}


def request_body(row: list[float]) -> str:
    body = json.loads(json.dumps(ROW_REQUEST))
    body["inputs"][0]["data"] = row
    return json.dumps(body)


def write_repository(
    folder: Path, joblib_path: Path, *, port: int, grpc_port: int, metrics_port: int, workers: int, batching: bool
) -> Path:
    model = folder / "iris"
    model.mkdir(parents=True)
    shutil.copy(joblib_path, model / "model.joblib")
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": port,
                "grpc_port": grpc_port,
                "metrics_port": metrics_port,
                "parallel_workers": workers,
                "debug": False,
            }
        )
    )
    settings: dict = {
        "name": "iris",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
    }
    if batching:
        settings.update(max_batch_size=32, max_batch_time=0.002)
    (model / "model-settings.json").write_text(json.dumps(settings))
    return folder
