"""The peers' own virtualenvs, under a cache folder (never the project's venv), created on first use.

$MODELCTL_BENCH_CACHE (default ~/.cache/modelctl-bench) holds one venv per peer. Each is checked by
importing its packages and comparing versions; a missing or different one is (re)created with pip.
scikit-learn and numpy are pinned to the project's own versions, so every server loads the same pickle.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MLFLOW_VERSION = "3.17.2"
MLSERVER_VERSION = "1.7.1"
HELM_SDK_VERSION = "0.2.2"
UVLOOP_FOR_MLSERVER = "0.21.0"


def cache_dir() -> Path:
    return Path(os.environ.get("MODELCTL_BENCH_CACHE", Path.home() / ".cache/modelctl-bench"))


def _same_ml_stack() -> list[str]:
    import numpy
    import sklearn

    return [f"scikit-learn=={sklearn.__version__}", f"numpy=={numpy.__version__}"]


PEERS = {
    "helm": ([f"helm-python-sdk=={HELM_SDK_VERSION}"], "import helm_python as m; print(m.helm_sdk_version())"),
    "mlflow": (
        [f"mlflow=={MLFLOW_VERSION}"],
        "import mlflow, sklearn, numpy; print(mlflow.__version__, sklearn.__version__, numpy.__version__)",
    ),
    # MLServer 1.7's workers call asyncio.get_event_loop() outside a loop, which uvloop ≥ 0.22 refuses
    "mlserver": (
        [f"mlserver=={MLSERVER_VERSION}", f"mlserver-sklearn=={MLSERVER_VERSION}", f"uvloop=={UVLOOP_FOR_MLSERVER}"],
        "import mlserver, sklearn, numpy, uvloop; "
        "print(mlserver.__version__, sklearn.__version__, numpy.__version__, uvloop.__version__)",
    ),
}


def ensure(peer: str) -> tuple[Path, str]:
    """(venv, version line) for a peer, creating its venv if needed."""
    packages, probe = PEERS[peer]
    if peer != "helm":
        packages = packages + _same_ml_stack()
    venv = cache_dir() / f"{peer}-venv"
    py = venv / "bin/python"
    pins = {
        p.split("==")[1]
        for p in packages
        if p.startswith(("mlflow==", "mlserver==", "scikit-learn", "numpy", "uvloop"))
    }
    if py.exists():
        found = subprocess.run([str(py), "-c", probe], capture_output=True, text=True).stdout.strip()
        if found and (peer == "helm" or set(found.split()) == pins):
            return venv, found
    print(f"creating {venv} with {' '.join(packages)} (one-off, a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
    found = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    return venv, found
