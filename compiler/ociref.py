"""OCI image references: `[host/]repository[:tag][@digest]`, parsed by Docker's rules.

Pure and shared: the planner names images with it, the targets and the registry store talk to
registries with it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    host: str | None  # None: a local-only image (no registry part)
    repository: str
    tag: str | None
    digest: str | None

    @property
    def name(self) -> str:
        return f"{self.host}/{self.repository}" if self.host else self.repository

    def pinned(self, digest: str) -> str:
        return f"{self.name}@{digest}"


def parse_reference(ref: str) -> Reference:
    """'127.0.0.1:5000/team/iris:abc' or 'reg/x@sha256:…' → parts; the first part is a host when it
    contains '.' or ':' or is 'localhost' (Docker's rule)."""
    rest, _, digest = ref.partition("@")
    first, slash, remainder = rest.partition("/")
    host = None
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, rest = first, remainder
    tag = None
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
    return Reference(host, rest, tag, digest or None)
