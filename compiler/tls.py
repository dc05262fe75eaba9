"""TLS secrets: a folder secret `.modelctl/secrets/<name>/` holding `tls.crt`, `tls.key` and optionally
`ca.crt` (the CA client certificates must chain to, for mtls). Parsed with `cryptography`.

What leaves this module is never a value: problems are sentences, the fingerprint is a hash of the
certificate files (public data; the key's bytes are not in it), expiry is a date.
"""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

SECRETS_DIR = Path(".modelctl/secrets")
CERT, KEY, CA = "tls.crt", "tls.key", "ca.crt"
EXPIRY_WARNING_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    """The files of one TLS secret, as bytes (kept in memory only to be written into the router)."""

    name: str
    cert: bytes
    key: bytes
    ca: bytes | None

    @property
    def fingerprint(self) -> str:
        """What the route fact records: a hash of the certificate and CA files, never of the key."""
        digest = hashlib.sha256(b"modelctl-tls-v1\0" + self.cert + b"\0" + (self.ca or b""))
        return "sha256:" + digest.hexdigest()


def secret_folder(root: Path, name: str) -> Path:
    return Path(root) / SECRETS_DIR / name


def read_tls_secret(root: Path, name: str) -> TlsFiles | None:
    """The TLS secret `name`, or None when its folder, `tls.crt` or `tls.key` is missing. A name is a
    plain name (validated DNS label) and the folder may not resolve outside `.modelctl/secrets`."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        return None
    base = (Path(root) / SECRETS_DIR).resolve()
    folder = secret_folder(root, name)
    if not folder.resolve().is_relative_to(base):
        return None
    files = {}
    for key in (CERT, KEY, CA):
        path = folder / key
        if path.is_file() and path.resolve().is_relative_to(base):
            files[key] = path.read_bytes()
    if CERT not in files or KEY not in files:
        return None
    return TlsFiles(name, files[CERT], files[KEY], files.get(CA))


@dataclass(frozen=True)
class TlsReport:
    problems: tuple[str, ...]  # each makes the secret unusable (validate errors)
    not_after: datetime | None = None  # the leaf certificate's expiry (UTC)

    def expires_in_days(self, now: datetime) -> float | None:
        return None if self.not_after is None else (self.not_after - now).total_seconds() / 86400


def inspect_secret(
    files: TlsFiles, hostnames: tuple[str, ...], *, need_ca: bool, now: datetime | None = None
) -> TlsReport:
    """Check one TLS secret: the certificate parses, the key matches it, it is not expired, its SANs
    cover every name in `hostnames`, and (need_ca) a CA to verify client certificates is there."""
    now = now or datetime.now(timezone.utc)
    try:
        chain = x509.load_pem_x509_certificates(files.cert)
    except ValueError:
        return TlsReport((f"{CERT} is not a PEM certificate",))
    leaf = chain[0]
    problems = []
    try:
        key = serialization.load_pem_private_key(files.key, password=None)
    except (ValueError, TypeError):
        problems.append(f"{KEY} is not an unencrypted PEM private key")
    else:
        if _public_der(key.public_key()) != _public_der(leaf.public_key()):
            problems.append(f"{KEY} does not match the certificate in {CERT}")
    not_after = leaf.not_valid_after_utc
    if not_after <= now:
        problems.append(f"the certificate expired on {not_after:%Y-%m-%d %H:%M} UTC")
    elif leaf.not_valid_before_utc > now:
        problems.append(f"the certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC")
    uncovered = [h for h in hostnames if not covers(leaf, h)]
    if uncovered:
        have = ", ".join(san_names(leaf)) or "none"
        problems.append(f"the certificate's names ({have}) do not cover {', '.join(uncovered)}")
    if need_ca:
        if files.ca is None:
            problems.append(f"auth mode mtls needs {CA} (the CA client certificates are checked against)")
        else:
            try:
                x509.load_pem_x509_certificates(files.ca)
            except ValueError:
                problems.append(f"{CA} is not a PEM certificate")
    return TlsReport(tuple(problems), not_after)


def _public_der(key: object) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def _san(cert: x509.Certificate) -> x509.SubjectAlternativeName | None:
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None


def san_names(cert: x509.Certificate) -> list[str]:
    san = _san(cert)
    if san is None:
        return []
    return [*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))]


def covers(cert: x509.Certificate, hostname: str) -> bool:
    """Whether the certificate's subjectAltName covers `hostname` (an IP address, a DNS name; one
    leading `*.` label matches one label), as TLS clients check it (RFC 6125: no CN fallback)."""
    san = _san(cert)
    if san is None:
        return False
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        ip = None
    if ip is not None:
        return ip in san.get_values_for_type(x509.IPAddress)
    host = hostname.lower().rstrip(".")
    for name in san.get_values_for_type(x509.DNSName):
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:]:
            return True
    return False


def trust_context(files: TlsFiles) -> ssl.SSLContext:
    """A client context trusting the secret's CA (or, without one, its own certificate chain)."""
    ctx = ssl.create_default_context(cadata=(files.ca or files.cert).decode())
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return ctx


def leaf_sha256(pem: bytes) -> str:
    """The SHA-256 of the leaf certificate's DER form (what a TLS client sees served)."""
    leaf = x509.load_pem_x509_certificates(pem)[0]
    return hashlib.sha256(leaf.public_bytes(serialization.Encoding.DER)).hexdigest()
