"""Building a rendered context with the engine's layer cache, and pushing the result.

A failed build names the failing Dockerfile step and shows its output; a failed push names the
registry and its answer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException

from ...errors import ApplyError
from ...ociref import parse_reference
from ...plan.services import BuiltImage
from ...plan.target import Progress
from ...spec.workspace import DockerTarget, WorkspaceSpec
from .engine import Engines

STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
TAIL = 30


class BuildFailed(ApplyError):
    pass


class DockerBuilder:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client

    def build(self, context: Path, ref: str, *, resource: str, progress: Progress) -> BuiltImage:
        lines: list[str] = []
        step, total, cached, failing = "", 0, 0, ""
        step_start = 0
        try:
            stream = self.client.api.build(
                path=str(context), tag=ref, rm=True, forcerm=True, pull=False, decode=True, nocache=False
            )
            for chunk in stream:
                if "error" in chunk or "errorDetail" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error", "")
                    failing = detail.strip()
                    break
                text = chunk.get("stream", "")
                for line in text.splitlines():
                    line = line.rstrip()
                    if not line:
                        continue
                    lines.append(line)
                    m = STEP.match(line)
                    if m:
                        step, total, step_start = line, int(m.group(2)), len(lines) - 1
                        progress(f"step {m.group(1)}/{m.group(2)}")
                    elif line.strip() == "---> Using cache":
                        cached += 1
        except APIError as exc:
            failing = exc.explanation or str(exc)
        except DockerException as exc:
            raise BuildFailed(f"{resource}: docker build could not run: {exc}", resource=resource) from None
        if failing:
            output = "\n".join(lines[step_start:][-TAIL:])
            where = f" at {step}" if step else ""
            raise BuildFailed(f"{resource}: docker build failed{where}\n{output}\nerror: {failing}", resource=resource)
        return BuiltImage(ref=ref, pinned=ref, cached_steps=cached, steps=total)

    def push(self, built: BuiltImage, *, progress: Progress) -> BuiltImage:
        parsed = parse_reference(built.ref)
        if parsed.host is None:
            return built  # no image registry: the image stays on this engine
        digest = None
        try:
            for chunk in self.client.api.push(parsed.name, tag=parsed.tag, stream=True, decode=True):
                if "error" in chunk or "errorDetail" in chunk:
                    message = chunk.get("errorDetail", {}).get("message") or chunk.get("error")
                    raise ApplyError(f"push of {built.ref} to {parsed.host} failed: {message}")
                aux = chunk.get("aux") or {}
                if aux.get("Digest"):
                    digest = aux["Digest"]
                if chunk.get("status") == "Pushing":
                    progress("pushing")
        except DockerException as exc:
            raise ApplyError(f"push of {built.ref} to {parsed.host} failed: {exc}") from None
        if not digest:
            raise ApplyError(f"push of {built.ref} to {parsed.host} reported no digest")
        return BuiltImage(built.ref, parsed.pinned(digest), built.cached_steps, built.steps)

    def has_local(self, ref: str) -> bool:
        try:
            self.client.api.inspect_image(ref)
            return True
        except docker.errors.ImageNotFound:
            return False

    def pull(self, ref: str) -> None:
        try:
            self.client.images.pull(ref)
        except DockerException as exc:
            raise ApplyError(f"cannot pull {ref}: {exc}") from None


class EngineBuilder:
    """Builds and pushes on the engine of the workspace's first docker target (the default engine when
    there is none), connecting only when something is built."""

    def __init__(self, engines: Engines, host: str | None) -> None:
        self.engines, self.host = engines, host

    @classmethod
    def for_workspace(cls, connection: Any, workspace: WorkspaceSpec) -> EngineBuilder:
        """connection: the docker target type's (it holds the engines)."""
        hosts = [t.host for _, t in sorted(workspace.targets.items()) if isinstance(t, DockerTarget)]
        return cls(connection.engines, hosts[0] if hosts else None)

    def build(self, context: Path, ref: str, *, resource: str, progress: Progress) -> BuiltImage:
        return DockerBuilder(self.engines.get(self.host)).build(context, ref, resource=resource, progress=progress)

    def push(self, built: BuiltImage, *, progress: Progress) -> BuiltImage:
        return DockerBuilder(self.engines.get(self.host)).push(built, progress=progress)
