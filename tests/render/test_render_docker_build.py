"""The rendered iris image builds on the real engine, runs healthy as a non-root user, and a
model-only change reuses the dependency layer. Slow the first time (pip installs in the build)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from testkit import wait_until

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]


def _render(repo: Path, out: Path) -> Path:
    render_graph(compile_repo(repo).require(), out, only={"Image/iris-scorer"}, types=TARGET_TYPES)
    return out / "images" / "iris-scorer"


def _build(client, context: Path, tag: str) -> list[str]:
    lines = []
    for chunk in client.api.build(path=str(context), tag=tag, rm=True, forcerm=True, pull=False, decode=True):
        if "error" in chunk:
            raise AssertionError(f"docker build failed: {chunk['error']}\n{''.join(lines[-40:])}")
        if "stream" in chunk:
            lines.append(chunk["stream"])
    return "".join(lines).splitlines()


def _pip_step_cached(log: list[str]) -> bool:
    """Classic builder output: 'Step n/m : RUN … pip install …' then ' ---> Using cache'."""
    for i, line in enumerate(log):
        if re.match(r"^Step \d+/\d+ : RUN .*pip install", line):
            following = [entry for entry in log[i + 1 : i + 4] if entry.strip()]
            return bool(following) and "Using cache" in following[0]
    raise AssertionError("no pip install step in the build log:\n" + "\n".join(log))


def _wait_healthy(container, seconds: float = 180) -> str:
    """The container's health status once it is healthy or stopped running (the test checks which)."""

    def settled() -> str | None:
        container.reload()
        state = container.attrs["State"]
        status = state.get("Health", {}).get("Status", "none")
        return status if status == "healthy" or not state.get("Running") else None

    return wait_until(
        settled,
        timeout=seconds,
        interval=0.5,
        message=lambda _: (
            f"the container is healthy or stopped; it is {container.attrs['State']}\n"
            f"{container.logs(tail=40).decode(errors='replace')}"
        ),
    )


def test_iris_image_builds_runs_healthy_and_caches_dependencies(docker_client, base_image, copy_example, tmp_path):
    repo = copy_example("iris")
    ws = repo / "modelctl.yaml"
    ws.write_text(
        ws.read_text().replace("python:3.11-slim: modelctl/python-base:bookworm", f"python:3.11-slim: {base_image}")
    )
    tag = f"modelctl-render-test/iris-scorer:{uuid.uuid4().hex[:8]}"
    tags, container = [tag, tag + "-v2"], None
    try:
        first_log = _build(docker_client, _render(repo, tmp_path / "one"), tags[0])
        image = docker_client.images.get(tags[0])
        config = image.attrs["Config"]
        assert config["User"] == "10001:10001"
        assert config["Labels"]["modelctl.io/resource"] == "Image/iris-scorer"
        assert config["Healthcheck"]["Test"][-1] == "modelctl_runtime.healthcheck"

        container = docker_client.containers.run(
            tags[0], detach=True, environment={"MODELCTL_AUTH_KEYS": "k1"}, read_only=True, tmpfs={"/tmp": "size=64m"}
        )
        status = _wait_healthy(container)
        assert status == "healthy", f"health: {status}\n{container.logs(tail=40).decode(errors='replace')}"
        uid = container.exec_run(["id", "-u"]).output.decode().strip()
        assert uid == "10001"
        assert container.exec_run(["touch", "/opt/modelctl/x"]).exit_code != 0  # code is not writable

        model = repo / "artifacts" / "iris.joblib"
        model.write_bytes(model.read_bytes() + b"\0")  # a model-only change
        second_log = _build(docker_client, _render(repo, tmp_path / "two"), tags[1])
        assert _pip_step_cached(second_log), "\n".join(second_log)
        first, second = (docker_client.images.get(t).attrs["RootFS"]["Layers"] for t in tags)
        base_layers = len(docker_client.images.get(base_image).attrs["RootFS"]["Layers"])
        shared = next(
            (i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), min(len(first), len(second))
        )
        assert shared >= base_layers + 2, "the venv layer must be shared"  # + mkdir + venv copy
        assert first[-1] != second[-1], "the model layer must differ"
        assert first_log  # the first build really ran
    finally:
        if container is not None:
            container.remove(force=True)
        for t in tags:
            try:
                docker_client.images.remove(t, force=True)
            except Exception:  # noqa: BLE001 - best-effort clean-up
                pass
