"""Serve the dashboard with uvicorn: 127.0.0.1 by default; an explicit host gets a random token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DEFAULT_HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServeOptions:
    root: Path
    host: str | None = None  # None: 127.0.0.1 and no token
    port: int = 8765
    baseline: Path | None = None
    token: str | None = None  # set: use it (else a new one when host is given)


def url_of(host: str, port: int, token: str | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={quote(token)}" if token else "")


def prepare(options: ServeOptions) -> tuple[str, str | None]:
    """The host to bind and the token requests need (None: bound to loopback, none needed)."""
    if options.host is None:
        return DEFAULT_HOST, options.token
    return options.host, options.token or secrets.token_urlsafe(24)


def serve(options: ServeOptions, announce) -> None:  # noqa: ANN001 - announce(url) prints it
    import uvicorn

    from .app import create_app

    host, token = prepare(options)
    app = create_app(options.root, token=token, baseline=options.baseline)
    config = uvicorn.Config(app, host=host, port=options.port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    announce(url_of(host, options.port, token))
    server.run()
