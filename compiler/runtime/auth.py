"""Request authentication: `key` (rotating bearer keys), `token` (signed JWT), `mtls` (TLS layer), `none`.

Secrets are read from files/environment at run time, re-read when the file changes (secret rotation
without restart), and compared in constant time.
"""

from __future__ import annotations

import hmac
import time
from pathlib import Path

from .errors import HTTPError
from .settings import Settings
from .tokens import TokenError, verify_token

RELOAD_CHECK_SECONDS = 1.0


class _SecretFile:
    """Lines of a secret file, re-read when its mtime changes (checked at most once a second)."""

    def __init__(self, path: Path | None):
        self.path = path
        self._mtime: int | None = None
        self._lines: tuple[bytes, ...] = ()
        self._checked = 0.0

    def lines(self) -> tuple[bytes, ...]:
        if self.path is None:
            return ()
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_SECONDS:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime_ns
                if mtime != self._mtime:
                    self._lines = tuple(ln.strip() for ln in self.path.read_bytes().splitlines() if ln.strip())
                    self._mtime = mtime
            except OSError:
                pass  # keep the last good keys while a secret volume is being swapped
        return self._lines


def _unauthorized(message: str) -> HTTPError:
    return HTTPError(401, message, headers=[(b"www-authenticate", b'Bearer realm="modelctl"')])


def _bearer(header: bytes | None) -> bytes:
    if not header:
        raise _unauthorized("missing Authorization: Bearer header")
    scheme, _, value = header.partition(b" ")
    if scheme.lower() != b"bearer" or not value.strip():
        raise _unauthorized("expected Authorization: Bearer <credential>")
    return value.strip()


class Authenticator:
    def __init__(self, settings: Settings):
        self.mode = settings.auth_mode
        self._env_keys = tuple(k.encode() for k in settings.auth_keys)
        self._keys_file = _SecretFile(settings.auth_keys_file)
        self._token_secret = _SecretFile(settings.token_secret_file)

    def check(self, header: bytes | None, model: str | None) -> None:
        """Raise 401/403 unless the request may proceed. mTLS is enforced by the TLS handshake."""
        if self.mode in ("none", "mtls"):
            return
        credential = _bearer(header)
        if self.mode == "key":
            ok = False
            for key in self._keys_file.lines() + self._env_keys:  # compare with every key: no early exit
                ok |= hmac.compare_digest(key, credential)
            if not ok:
                raise _unauthorized("invalid key")
            return
        secrets = self._token_secret.lines()
        if not secrets:
            raise HTTPError(503, "token secret is not available")
        try:
            claims = verify_token(credential.decode("ascii", "replace"), secrets[0])
        except TokenError as exc:
            raise _unauthorized(str(exc)) from None
        allowed = claims.get("models")
        if model is not None and isinstance(allowed, list) and model not in allowed:
            raise HTTPError(403, f"token does not grant access to model '{model}'")
