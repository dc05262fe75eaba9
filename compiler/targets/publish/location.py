"""Where a target publishes: `file://REL` (a folder inside the repo) or `oci://HOST[:PORT]/REPO`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...errors import PlanError
from ...safepath import UnsafePath, repo_path
from ...spec.workspace import EdgeTarget, FpgaTarget, Target


@dataclass(frozen=True)
class FileLocation:
    folder: Path

    def __str__(self) -> str:
        return f"file://{self.folder}"


@dataclass(frozen=True)
class OciLocation:
    url: str  # oci://host[:port]/repo

    def __str__(self) -> str:
        return self.url


def publish_setting(target: Target) -> str:
    """An edge or fpga target's `publish`: the registry of target types hands these types only their own targets."""
    if not isinstance(target, EdgeTarget | FpgaTarget):
        raise TypeError(f"a {target.type} target given to a publishing target type")
    return target.publish


def parse_location(publish: str, root: Path, target: str) -> FileLocation | OciLocation:
    if publish.startswith("oci://"):
        host, _, repo = publish[len("oci://") :].partition("/")
        if not host or not repo.strip("/"):
            raise PlanError(f"target {target}: publish {publish!r} needs oci://HOST[:PORT]/REPOSITORY")
        return OciLocation(publish.rstrip("/"))
    if publish.startswith("file://"):
        rel = publish[len("file://") :]
        try:
            return FileLocation(repo_path(Path(root), rel.rstrip("/") or ".", must_exist=False))
        except UnsafePath as exc:
            raise PlanError(
                f"target {target}: publish {publish!r}: {exc} (publish into a folder of the repo, "
                "or to oci://HOST/REPO)"
            ) from None
    raise PlanError(f"target {target}: publish {publish!r} must start with file:// or oci://")
