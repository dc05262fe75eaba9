"""The bearer credential `modelctl monitor` sends, from a deployment's auth secret.

`key` mode: the secret holds bearer keys, one a line; the first (primary) one is sent. `token` mode:
the secret is the HMAC signing secret; it never leaves this process: a short-lived JWT is minted
from it, as any client is documented to (docs/runtime.md, auth mode token).
"""

from __future__ import annotations

import math

from ..runtime.tokens import mint_token

TOKEN_SUBJECT = "modelctl-monitor"
TOKEN_MARGIN_SECONDS = 60  # beyond the scrape interval: request timeouts and clock skew


def first_line(value: str | None) -> str | None:
    """The first non-empty line, stripped: what the runtime reads from a key or signing-secret file."""
    lines = [ln.strip() for ln in (value or "").splitlines() if ln.strip()]
    return lines[0] if lines else None


def token_ttl(interval_seconds: float) -> int:
    """Long enough for two scrapes `interval_seconds` apart, and no longer."""
    return math.ceil(interval_seconds) + TOKEN_MARGIN_SECONDS


def bearer_credential(auth_mode: str, secret_value: str | None, ttl_seconds: int) -> str | None:
    """What to send as `Authorization: Bearer …` to a runtime in `auth_mode`; None: nothing to send."""
    secret = first_line(secret_value)
    if secret is None or auth_mode not in ("key", "token"):
        return None
    if auth_mode == "key":
        return secret
    return mint_token(secret, TOKEN_SUBJECT, ttl_seconds)
