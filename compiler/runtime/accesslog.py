"""Structured JSON logs on stdout: one line per request, buffered and flushed off the hot path."""

from __future__ import annotations

import os
import time

import orjson

FLUSH_SECONDS = 0.2
MAX_BUFFERED = 256


class JsonLog:
    def __init__(self, enabled: bool = True, fd: int = 1):
        self.enabled = enabled
        self.fd = fd
        self._buf: list[bytes] = []
        self._timer = None
        self._loop = None

    def bind(self, loop) -> None:
        self._loop = loop

    def write(self, entry: dict) -> None:
        entry["ts"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
        self._buf.append(orjson.dumps(entry, default=str))
        if len(self._buf) >= MAX_BUFFERED:
            self.flush()
        elif self._timer is None and self._loop is not None:
            self._timer = self._loop.call_later(FLUSH_SECONDS, self.flush)
        elif self._loop is None:
            self.flush()

    def request(self, entry: dict) -> None:
        if self.enabled:
            self.write(entry)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._buf:
            data = b"\n".join(self._buf) + b"\n"
            self._buf = []
            try:
                os.write(self.fd, data)
            except OSError:
                pass
