"""Named volumes modelctl mounts: created with their owner's labels, never used when another owns them."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from ...errors import ApplyError
from . import labels as L


def ensure_volume(client: docker.DockerClient, name: str, labels: dict[str, str]) -> None:
    """The volume `name`, created with `labels` when missing. One whose labels name another owner
    (another workspace, target or resource; or none: not made by modelctl) is left alone and apply
    stops: mounting it would mix two owners' data."""
    try:
        volume = client.volumes.create(name, labels=labels)  # an existing volume is returned unchanged
    except DockerException as exc:
        raise ApplyError(f"cannot create the volume {name}: {exc}") from None
    have = volume.attrs.get("Labels") or {}
    if any(have.get(k) != v for k, v in labels.items()):
        raise ApplyError(
            f"a volume named {name} exists that is not modelctl's for workspace "
            f"{labels.get(L.WORKSPACE)!r}, target {labels.get(L.TARGET)!r}, "
            f"{labels.get(L.RESOURCE)} (its labels: {L.describe(have)}); modelctl does not mount or "
            "remove it: rename or remove it"
        )
