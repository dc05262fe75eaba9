"""`python -m modelctl_runtime`: validate settings, prepare shared metrics, run uvicorn workers."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import sys
import tempfile
from typing import Any

from .errors import ConfigError
from .settings import load_settings


def _prepare_metrics_dir() -> None:
    """All workers write Prometheus samples here; start empty so restarts do not double count."""
    path = os.environ.get("MODELCTL_METRICS_DIR") or os.path.join(
        tempfile.gettempdir(), f"modelctl-metrics-{os.getpid()}"
    )
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def main() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(json.dumps({"level": "error", "msg": "invalid configuration", "error": str(exc)}) + "\n")
        return 2
    _prepare_metrics_dir()
    import uvicorn

    tls: dict[str, Any] = {}  # uvicorn.run() keyword arguments
    if settings.auth_mode == "mtls":
        tls = {
            "ssl_certfile": str(settings.tls_cert_file),
            "ssl_keyfile": str(settings.tls_key_file),
            "ssl_ca_certs": str(settings.tls_client_ca_file),
            "ssl_cert_reqs": ssl.CERT_REQUIRED,
        }
    elif settings.tls_cert_file and settings.tls_key_file:
        tls = {"ssl_certfile": str(settings.tls_cert_file), "ssl_keyfile": str(settings.tls_key_file)}
    uvicorn.run(
        f"{__package__}.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=int(settings.timeout_seconds) + 5,
        log_level="warning",
        **tls,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
