"""Endpoint: a stable name in front of deployments, with a traffic split and an optional mirror."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .common import Name, StrictModel, Tls
from .grammar import Hostname

# the target types an endpoint can route on (a router listener on docker, an HTTPRoute on kubernetes)
ENDPOINT_TARGET_TYPES: tuple[str, ...] = ("docker", "kubernetes")


class Mirror(StrictModel):
    deployment: Name
    percent: int = Field(ge=0, le=100)


class EndpointSpec(StrictModel):
    target: Name = Field(description="A target named in the Workspace (kubernetes or docker).")
    traffic: dict[Name, Annotated[int, Field(ge=0, le=100)]] = Field(
        description="Percent of traffic per deployment; must total 100 (or 0)."
    )
    mirror: Mirror | None = None
    path: str = Field("/", pattern=r"^/[A-Za-z0-9/_.-]*$", description="URL path prefix routed to this endpoint.")
    hostnames: list[Hostname] = Field(default_factory=list, description="DNS host names (Gateway API HTTPRoute).")
    tls: Tls | None = Field(None, description="Serve HTTPS with the certificate of this secret (by reference).")
