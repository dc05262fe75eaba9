"""Read-only facts from an OCI registry (Distribution API v2): does a tag exist, what digest is it.

Loopback registries (127.0.0.0/8, localhost) are spoken to over plain HTTP, like Docker does.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx

from ..ociref import parse_reference
from ..plan.state import Wanted

MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


class RegistryUnreachable(Exception):
    pass


def _scheme(host: str) -> str:
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
    if name == "localhost":
        return "http"
    try:
        return "http" if ipaddress.ip_address(name).is_loopback else "https"
    except ValueError:
        return "https"


class OciClient:
    def __init__(self, timeout: float = 5.0) -> None:
        self._http = httpx.Client(timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def manifest_digest(self, ref: str) -> str | None:
        """The manifest digest behind a tag (or digest) reference, or None when the registry lacks it."""
        parsed = parse_reference(ref)
        if parsed.host is None:
            raise ValueError(f"{ref} names no registry host")
        url = f"{_scheme(parsed.host)}://{parsed.host}/v2/{parsed.repository}/manifests/{parsed.digest or parsed.tag or 'latest'}"
        try:
            resp = self._http.head(url, headers={"Accept": MANIFEST_TYPES})
        except httpx.HTTPError as exc:
            raise RegistryUnreachable(f"image registry {parsed.host} is unreachable ({exc})") from None
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise RegistryUnreachable(f"image registry {parsed.host} answered HTTP {resp.status_code} for {ref}")
        return resp.headers.get("Docker-Content-Digest") or parsed.digest


class OciReader:
    """Which image references are pushed, and their manifest digests (a read-only StateReader)."""

    def __init__(self, client: OciClient) -> None:
        self.client = client

    def read(self, wanted: Wanted) -> dict[str, Any]:
        return {
            "manifests": {
                ref: self.client.manifest_digest(ref) for ref in wanted.refs if parse_reference(ref).host is not None
            }
        }
