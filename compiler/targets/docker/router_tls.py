"""HTTPS on the router: a deployment's or endpoint's `server` block terminates TLS with the certificate
of its `tls.secretRef` secret, and under auth mode mtls refuses, in the handshake, clients without a
certificate issued by the secret's `ca.crt`.

The certificate files reach the router through their own volume (`<routes volume>-tls`, mounted at
TLS_DIR): apply writes them with the Docker API's archive upload, owned by the router's user, mode
0600, in a folder named after the secret and its fingerprint. So they are never in an image layer,
the route file (which names only their path), its JSON header (the fingerprint), a plan or a log.
A rotated certificate is a new folder + a graceful reload; folders no route names are pruned.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import ssl
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import Mount

from ...errors import ApplyError
from ...tls import CA, CERT, KEY, TlsFiles, leaf_sha256, read_tls_secret, trust_context

TLS_DIR = "/etc/modelctl-router/tls"
CERTS_DIR = f"{TLS_DIR}/certs"  # created by the first upload, owned by the router's user, mode 0700

# Mozilla's "intermediate" configuration (ssl-config.mozilla.org, v5.7) without the DHE suites, which
# would need a dhparam file: TLS 1.2 and 1.3, forward-secret AEAD ciphers only.
PROTOCOLS = "TLSv1.2 TLSv1.3"
CIPHERS = ":".join(
    [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
)

LISTEN = re.compile(r"^(?P<indent>[ \t]*)listen (?P<address>(?!unix:)[^;\s]+);$", re.MULTILINE)


@dataclass(frozen=True)
class TlsRoute:
    """What a route file records of its TLS: the secret's name, its fingerprint (of the certificate and
    CA files, never the key) and whether client certificates are required."""

    secret: str
    fingerprint: str
    verify_client: bool = False

    @property
    def folder(self) -> str:
        return f"{CERTS_DIR}/{self.secret}.{self.fingerprint.removeprefix('sha256:')[:16]}"

    def header(self) -> dict[str, Any]:
        return {"secret": self.secret, "fingerprint": self.fingerprint, "verifyClient": self.verify_client}

    @classmethod
    def from_header(cls, value: Any) -> TlsRoute | None:
        if not isinstance(value, dict):
            return None
        return cls(str(value["secret"]), str(value["fingerprint"]), bool(value.get("verifyClient", False)))


def directives(tls: TlsRoute, indent: str = "    ") -> str:
    """The ssl_* lines of one server block."""
    lines = [
        f"ssl_certificate {tls.folder}/{CERT};",
        f"ssl_certificate_key {tls.folder}/{KEY};",
        f"ssl_protocols {PROTOCOLS};",
        f"ssl_ciphers {CIPHERS};",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_timeout 1d;",
        "ssl_session_cache shared:modelctl_tls:10m;",
        "ssl_session_tickets off;",
    ]
    if tls.verify_client:
        lines += [
            f"ssl_client_certificate {tls.folder}/{CA};",
            "ssl_verify_client on;",
            "ssl_verify_depth 3;",
            # nginx alone answers a missing certificate with HTTP 400 after the handshake; OpenSSL's
            # "Require" makes the handshake itself fail (TLS alert certificate_required / handshake_failure)
            "ssl_conf_command VerifyMode Peer,Request,Require;",
        ]
    return "".join(f"{indent}{line}\n" for line in lines)


def with_tls(server_text: str, tls: TlsRoute | None) -> str:
    """A rendered route or endpoint file with its `listen` made `ssl` and the ssl_* directives after it."""
    if tls is None:
        return server_text

    def ssl_listen(m: re.Match[str]) -> str:
        return f"{m['indent']}listen {m['address']} ssl;\n" + directives(tls, m["indent"]).rstrip("\n")

    text, count = LISTEN.subn(ssl_listen, server_text)
    if count != 1:
        raise ApplyError(f"internal error: a route file has {count} listen lines, expected 1")
    return text


def volume_name(routes_volume: str) -> str:
    return f"{routes_volume}-tls"


def mount(routes_volume: str) -> Mount:
    return Mount(target=TLS_DIR, source=volume_name(routes_volume), type="volume")


# --- apply: the files into the router ------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """A TLS secret resolved for one route: its files (to upload) and what the route records."""

    files: TlsFiles
    route: TlsRoute


def resolve(root: Path, secret: str, *, verify_client: bool, resource: str) -> Certificate:
    files = read_tls_secret(root, secret)
    if files is None:
        raise ApplyError(
            f"{resource}: tls secret '{secret}' not found: .modelctl/secrets/{secret}/ needs tls.crt and tls.key",
            resource=resource,
        )
    if verify_client and files.ca is None:
        raise ApplyError(f"{resource}: tls secret '{secret}' has no ca.crt (auth mode mtls)", resource=resource)
    return Certificate(files, TlsRoute(secret, files.fingerprint, verify_client))


def upload(container: Any, router_uid: int, cert: Certificate) -> None:
    """Write the certificate's folder into the router's TLS volume (0700 folders, 0600 files, owned by
    the router's user). Idempotent: the folder name carries the fingerprint."""
    files = {CERT: cert.files.cert, KEY: cert.files.key}
    if cert.files.ca is not None:
        files[CA] = cert.files.ca
    folder = cert.route.folder.removeprefix(TLS_DIR + "/")
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in ("certs", folder):
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, 0o700, router_uid, router_uid, now
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o600, router_uid, router_uid, now
            tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(TLS_DIR, buf.getvalue()):
        raise ApplyError(f"could not write the certificate of secret '{cert.route.secret}' into {container.name}")


def prune(container: Any, keep: set[str]) -> None:
    """Remove certificate folders no route file names any more (rotated or deleted ones)."""
    listing = container.exec_run(["sh", "-c", f"ls -1 {CERTS_DIR} 2>/dev/null || true"])
    for name in listing.output.decode(errors="replace").split():
        path = f"{CERTS_DIR}/{name}"
        if path not in keep and re.fullmatch(r"[a-z0-9-]+\.[0-9a-f]{16}", name):
            container.exec_run(["rm", "-rf", "--", path])


# --- checking what the router serves ---------------------------------------------------------------------


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """A client context trusting the secret's CA, TLS 1.3 only."""
    ctx = trust_context(files)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3  # the server's certificate request comes after our Finished
    return ctx


def check_served(
    host: str,
    port: int,
    files: TlsFiles,
    *,
    verify_client: bool,
    path: str = "/v2/health/ready",
    answers: bool = True,
    timeout: float = 10,
) -> str | None:
    """Poll until the router serves this certificate on host:port (verified against the CA) and, with
    verify_client, refuses a client without a certificate; else (with `answers`) answers GET `path`
    with 200. Returns None when it does, else what was seen last."""
    want = leaf_sha256(files.cert)
    ctx = client_context(files)
    ctx.check_hostname = False  # the SANs are checked at validate time; this checks which certificate is served
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        last = _probe(host, port, ctx, want, verify_client, path if answers else None)
        if last == "ok":
            return None
        time.sleep(0.1)
    return last


def _probe(host: str, port: int, ctx: ssl.SSLContext, want: str, verify_client: bool, path: str | None) -> str:
    try:
        with socket.create_connection((host, port), timeout=2) as raw, ctx.wrap_socket(raw) as tls:
            served = tls.getpeercert(binary_form=True) or b""
            if hashlib.sha256(served).hexdigest() != want:
                return "another certificate is served"
            if path is None and not verify_client:
                return "ok"
            tls.sendall(f"GET {path or '/'} HTTP/1.1\r\nHost: router\r\nConnection: close\r\n\r\n".encode())
            try:
                status = tls.recv(64).split(b" ", 2)
            except ssl.SSLError as exc:
                return "ok" if verify_client and "CERTIFICATE_REQUIRED" in str(exc).upper() else str(exc)
            if verify_client:
                return "a client without a certificate was answered"
            return "ok" if len(status) > 1 and status[1] == b"200" else f"HTTP {status[1:2]!r}"
    except (OSError, ssl.SSLError) as exc:
        return type(exc).__name__ + f": {exc}"
