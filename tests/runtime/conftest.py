"""Fixtures for the scoring runtime: real small models and real server subprocesses.

The server runs exactly as in an image: compiler/runtime is copied to <tmp>/pkg/modelctl_runtime and
started with `python -m modelctl_runtime`, so a hidden import of `compiler` would fail here too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from testkit import wait_until

from runtime_support import KEY

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCORE_PY = """
import json, os, time
import joblib
from modelctl_runtime.collector import Collector

model = None
extra = Collector("extra")

def init():
    global model
    model = joblib.load(os.path.join(os.environ["AZUREML_MODEL_DIR"], "iris.joblib"))

def run(raw):
    doc = json.loads(raw)
    rows = doc["data"]
    if rows and rows[0] == "sleep":
        time.sleep(float(rows[1]))
        return []
    preds = model.predict(rows).tolist()
    extra.collect({"rows": len(rows)})
    return {"label": preds}
"""

FAILING_PY = """
def init():
    raise RuntimeError("cannot reach the feature store")

def run(raw):
    return []
"""


@pytest.fixture(scope="session")
def iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory, iris):
    """An image-like folder: runtime package, models of every framework, config files."""
    import joblib
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("image")
    shutil.copytree(
        REPO / "compiler" / "runtime", root / "pkg" / "modelctl_runtime", ignore=shutil.ignore_patterns("__pycache__")
    )
    X, y = iris
    clf = LogisticRegression(max_iter=1000).fit(X, y)
    (root / "models/iris-sk/1").mkdir(parents=True)
    joblib.dump(clf, root / "models/iris-sk/1/iris.joblib")
    onx = convert_sklearn(
        clf,
        initial_types=[("features", FloatTensorType([None, 4]))],
        options={id(clf): {"zipmap": False}},
        target_opset=17,
    )
    (root / "models/iris-onnx/1").mkdir(parents=True)
    (root / "models/iris-onnx/1/iris.onnx").write_bytes(onx.SerializeToString())
    mlflow_dir = root / "models/iris-mlflow/2/model"
    mlflow_dir.mkdir(parents=True)
    import pickle

    (mlflow_dir / "model.pkl").write_bytes(pickle.dumps(clf))
    cols = [{"name": n, "type": "double"} for n in ("sepal_length", "sepal_width", "petal_length", "petal_width")]
    (mlflow_dir / "MLmodel").write_text(
        textwrap.dedent(f"""\
        artifact_path: model
        flavors:
          python_function:
            env: {{conda: conda.yaml, virtualenv: python_env.yaml}}
            loader_module: mlflow.sklearn
            model_path: model.pkl
            predict_fn: predict
            python_version: 3.11.7
          sklearn:
            pickled_model: model.pkl
            serialization_format: pickle
            sklearn_version: 1.5.0
        signature:
          inputs: '{json.dumps(cols)}'
          outputs: '[{{"type": "tensor", "tensor-spec": {{"dtype": "int64", "shape": [-1]}}}}]'
        """)
    )
    (root / "score").mkdir()
    (root / "score/iris_score.py").write_text(SCORE_PY)
    (root / "score/failing.py").write_text(FAILING_PY)
    sig = {
        "inputs": [{"name": "features", "dtype": "float64", "shape": [-1, 4]}],
        "outputs": [{"name": "label", "dtype": "int64", "shape": [-1]}],
    }
    models = [
        {
            "name": "iris-sk",
            "version": "1",
            "framework": "sklearn",
            "path": "models/iris-sk/1/iris.joblib",
            "signature": sig,
        },
        {
            "name": "iris-onnx",
            "version": "1",
            "framework": "onnx",
            "path": "models/iris-onnx/1/iris.onnx",
            "signature": None,
        },
        {
            "name": "iris-mlflow",
            "version": "2",
            "framework": "mlflow",
            "path": "models/iris-mlflow/2/model",
            "signature": None,
        },
        {"name": "iris-custom", "version": "1", "framework": "custom", "path": "models/iris-sk/1", "signature": None},
    ]
    write_config(root / "config.json", models, "score/iris_score.py")
    write_config(
        root / "failing.json",
        [
            {"name": "iris-sk", "version": "1", "framework": "sklearn", "path": "models/iris-sk/1/iris.joblib"},
            {"name": "broken", "version": "1", "framework": "custom", "path": "models/iris-sk/1"},
        ],
        "score/failing.py",
    )
    write_config(root / "onnx.json", [models[1]], None)
    return root


def write_config(path: Path, models: list, script: str | None) -> None:
    doc = {
        "schemaVersion": 1,
        "image": "iris-test",
        "models": models,
        "scoring": {"script": script} if script else None,
    }
    path.write_text(json.dumps(doc))


class Server:
    def __init__(self, image_dir: Path, config: str, env: dict, tmp: Path, scheme: str = "http"):
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELCTL_", "PROMETHEUS_"))}
        full_env.update(
            {
                "PYTHONPATH": str(image_dir / "pkg"),
                "MODELCTL_CONFIG": str(image_dir / config),
                "MODELCTL_PORT": str(self.port),
                "MODELCTL_HOST": "127.0.0.1",
                "MODELCTL_WORKERS": "1",
                "MODELCTL_AUTH_MODE": "key",
                "MODELCTL_AUTH_KEYS": KEY,
                "MODELCTL_METRICS_DIR": str(tmp / f"metrics-{self.port}"),
            }
        )
        full_env.update(env)
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelctl_runtime"],
            cwd=image_dir,
            env=full_env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_live(self, timeout: float = 30, **client_kw) -> None:
        def live() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            return httpx.get(self.url + "/v2/health/live", timeout=1, **client_kw).status_code == 200

        wait_until(
            live,
            timeout=timeout,
            interval=0.1,
            ignore=(httpx.HTTPError, OSError),
            message=lambda last: f"the server answers /v2/health/live (last: {last!r}); its output:\n{self.output()}",
        )

    def wait_ready(self, timeout: float = 30, **client_kw) -> None:
        self.wait_live(timeout, **client_kw)
        wait_until(
            lambda: httpx.get(self.url + "/v2/health/ready", timeout=2, **client_kw).status_code == 200,
            timeout=timeout,
            interval=0.1,
            message=lambda _: f"the server is ready (/v2/health/ready answers 200); its output:\n{self.output()}",
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def start_server(image_dir, tmp_path):
    servers = []

    def start(config: str = "config.json", ready: bool = True, scheme: str = "http", client_kw=None, **env):
        server = Server(image_dir, config, {k: str(v) for k, v in env.items()}, tmp_path, scheme)
        servers.append(server)
        if ready:
            server.wait_ready(**(client_kw or {}))
        return server

    yield start
    for s in servers:
        s.stop()


@pytest.fixture(scope="module")
def shared_server(image_dir, tmp_path_factory):
    """One key-auth server with all four models, shared by read-mostly tests."""
    server = Server(image_dir, "config.json", {"MODELCTL_WORKERS": "2"}, tmp_path_factory.mktemp("srv"))
    server.wait_ready()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_tls_server(image_dir, tmp_path_factory):
    """shared_server's configuration serving HTTPS with a test CA's certificate: (server, CA file)."""
    from tlskit import Pki, write_secret

    pki = Pki.create()
    folder = write_secret(tmp_path_factory.mktemp("tls"), "runtime-tls", *pki.issue("runtime"), pki.ca_pem)
    env = {"MODELCTL_TLS_CERT_FILE": str(folder / "tls.crt"), "MODELCTL_TLS_KEY_FILE": str(folder / "tls.key")}
    server = Server(image_dir, "config.json", env, tmp_path_factory.mktemp("srv-tls"), scheme="https")
    server.wait_ready(verify=ssl.create_default_context(cafile=str(folder / "ca.crt")))
    yield server, folder / "ca.crt"
    server.stop()


@pytest.fixture
def auth_headers():
    return {"Authorization": f"Bearer {KEY}"}
