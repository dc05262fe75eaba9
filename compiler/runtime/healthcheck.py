"""`python -m modelctl_runtime.healthcheck`: exit 0 when /v2/health/ready answers 200 (images have no curl).

In mtls mode it presents MODELCTL_HEALTHCHECK_CERT_FILE/KEY_FILE (default: the server's own
certificate and key, which must then be trusted by the client CA).
"""

from __future__ import annotations

import http.client
import os
import ssl
import sys


def main() -> int:
    port = int(os.environ.get("MODELCTL_PORT") or 8080)
    mode = os.environ.get("MODELCTL_AUTH_MODE", "key")
    conn: http.client.HTTPConnection
    try:
        if os.environ.get("MODELCTL_TLS_CERT_FILE"):
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # probing our own process on loopback
            if mode == "mtls":
                ctx.load_cert_chain(
                    os.environ.get("MODELCTL_HEALTHCHECK_CERT_FILE") or os.environ["MODELCTL_TLS_CERT_FILE"],
                    os.environ.get("MODELCTL_HEALTHCHECK_KEY_FILE") or os.environ["MODELCTL_TLS_KEY_FILE"],
                )
            conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/v2/health/ready")
        status = conn.getresponse().status
    except (OSError, ssl.SSLError, KeyError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"not ready: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
