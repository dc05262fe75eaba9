"""Test certificates: the local CA of docs/tls.md (its exact openssl commands), and certificates made
with `cryptography` when a test needs another expiry, other names or a key that does not match."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tls.md"


def docs_ca_script() -> str:
    """The shell block after `<!-- tls-local-ca -->` in docs/tls.md."""
    text = DOCS.read_text()
    m = re.search(r"<!-- tls-local-ca -->\s*```sh\n(.*?)```", text, re.DOTALL)
    assert m, "docs/tls.md has no local-CA block"
    return m.group(1)


def run_docs_ca(folder: Path) -> Path:
    """Run the documented commands in `folder` (they also create its .modelctl/secrets/iris-tls/)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["bash", "-euo", "pipefail", "-c", docs_ca_script()], cwd=folder, check=True, capture_output=True)
    return folder


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Pki:
    """A CA and a way to issue certificates from it."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def create(cls, cn: str = "test CA") -> Pki:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(_name(cn))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @property
    def ca_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, cn: str, *, sans: tuple[str, ...] = ("127.0.0.1",), days: float = 90) -> tuple[bytes, bytes]:
        """(certificate PEM, key PEM) valid for `days` from now."""
        import ipaddress

        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        names: list[x509.GeneralName] = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=days))
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def write_secret(root: Path, name: str, cert: bytes, key: bytes, ca: bytes | None = None) -> Path:
    folder = root / ".modelctl" / "secrets" / name
    folder.mkdir(parents=True, exist_ok=True)
    for file, data in (("tls.crt", cert), ("tls.key", key), ("ca.crt", ca)):
        if data is not None:
            (folder / file).write_bytes(data)
            (folder / file).chmod(0o600)
    return folder


def client_context(ca: bytes, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca.decode())
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def served_certificate(host: str, port: int) -> bytes:
    """The PEM of the certificate a TLS server presents (not verified)."""
    return ssl.get_server_certificate((host, port)).encode()
