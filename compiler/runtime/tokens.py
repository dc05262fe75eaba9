"""Signed bearer tokens for auth mode `token`: JWT (RFC 7519) with HS256, so any JWT library can mint them.

Claims: `sub` (who), `iat`, `exp` (required, unix seconds), optional `models` (list of model names
the token may call; absent = all). Mint from the command line:

    python -m modelctl_runtime.tokens --secret-file secret --subject ci --ttl 3600 [--model iris]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time

HEADER = {"alg": "HS256", "typ": "JWT"}
CLOCK_SKEW_SECONDS = 30


class TokenError(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, signing_input: str) -> str:
    return _b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def mint_token(
    secret: bytes | str, subject: str, ttl_seconds: int, models: list[str] | None = None, now: float | None = None
) -> str:
    secret = secret.encode() if isinstance(secret, str) else secret
    now = int(time.time() if now is None else now)
    claims = {"sub": subject, "iat": now, "exp": now + int(ttl_seconds)}
    if models is not None:
        claims["models"] = list(models)
    signing_input = (
        _b64(json.dumps(HEADER, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(claims, separators=(",", ":")).encode())
    )
    return signing_input + "." + _sign(secret, signing_input)


def verify_token(token: str, secret: bytes, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    try:
        header = json.loads(_unb64(parts[0]))
        claims = json.loads(_unb64(parts[1]))
    except (ValueError, UnicodeDecodeError):
        raise TokenError("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise TokenError("unsupported token algorithm")
    if not hmac.compare_digest(_sign(secret, parts[0] + "." + parts[1]), parts[2]):
        raise TokenError("bad token signature")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise TokenError("token has no expiry")
    if now >= exp:
        raise TokenError("token expired")
    nbf = claims.get("nbf", claims.get("iat", 0))
    if isinstance(nbf, (int, float)) and nbf > now + CLOCK_SKEW_SECONDS:
        raise TokenError("token not valid yet")
    return claims


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m modelctl_runtime.tokens", description="Mint a scoring token.")
    p.add_argument("--secret-file", required=True)
    p.add_argument("--subject", required=True)
    p.add_argument("--ttl", type=int, default=3600, help="seconds until expiry")
    p.add_argument("--model", action="append", help="restrict to this model (repeatable)")
    args = p.parse_args(argv)
    with open(args.secret_file, "rb") as f:
        secret = f.read().strip()
    print(mint_token(secret, args.subject, args.ttl, args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
