"""Serve the dashboard with uvicorn: 127.0.0.1 by default; an explicit host gets a random token."""

from __future__ import annotations

import secrets
import socket
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


class CannotListen(Exception):
    """The address cannot be bound (in use, not this machine's): a message, not a traceback."""


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from None
    sock.listen(128)
    return sock


def serve(options: ServeOptions, announce) -> None:  # noqa: ANN001 - announce(url) prints it
    """Bind first (so a port in use is an error before any URL is printed), then serve until Ctrl-C."""
    import uvicorn

    from .app import create_app

    host, token = prepare(options)
    sock = bind(host, options.port)
    app = create_app(options.root, token=token, baseline=options.baseline)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    announce(url_of(host, sock.getsockname()[1], token))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
