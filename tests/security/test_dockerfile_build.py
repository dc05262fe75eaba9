"""Hostile-but-valid values built on the real engine: the image holds them verbatim and nothing ran.

The probes in test_injection_probes.py compare the rendered Dockerfile's shape; this builds one,
because the Dockerfile parser is the authority: every value that validation lets through (ENV
values with quotes, backslashes, `$(…)`, backticks, `${…}`; a label with line breaks) must reach
the image as written, with the build running exactly the template's steps.
"""

from __future__ import annotations

import json
import uuid

import pytest

from compiler.pipeline import compile_repo
from compiler.render import render_graph
from compiler.targets import TARGET_TYPES

from artifacts import dockerfile_instructions
from probe_repo import FILES, write

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1200)]

VALUES = {
    "QUOTES": "a \"double\" and 'single' quote",
    "SUBST": "$(touch /tmp/pwned-subst) `touch /tmp/pwned-tick` ${HOME} $HOME",
    "BACKSLASH": "C:\\path\\ ends with \\",
    "SHELL": '"; touch /tmp/pwned-shell; echo "',
    "UNICODE": "grüße — ✓",
}
DESCRIPTION = 'line one\nRUN touch /tmp/pwned-label\n"quoted" $(id) \\'


def _docs(base: str) -> dict:
    def doc(kind, name, spec, **meta):
        return {"apiVersion": "modelctl.io/v1", "kind": kind, "metadata": {"name": name, **meta}, "spec": spec}

    return {
        "modelctl.yaml": doc(
            "Workspace", "probe", {"baseImages": {"python:3.11-slim": base}, "targets": {"local": {"type": "docker"}}}
        ),
        "models/m.yaml": doc("Model", "m", {"framework": "custom", "path": "artifacts/m.json"}),
        "envs/hostile.yaml": doc("Environment", "hostile", {"base": "python:3.11-slim", "env": VALUES}),
        "images/scorer.yaml": doc(
            "Image",
            "scorer",
            {"models": ["m"], "environment": "hostile", "scoring": {"script": "score/score.py"}},
            description=DESCRIPTION,
        ),
    }


def test_hostile_values_reach_the_image_verbatim_and_run_nothing(docker_client, base_image, tmp_path):
    root = write(tmp_path / "repo", _docs(base_image), {k: v for k, v in FILES.items() if not k.startswith(".")})
    out = tmp_path / "out"
    render_graph(compile_repo(root).require(), out, only={"Image/scorer"}, types=TARGET_TYPES)
    context = out / "images" / "scorer"
    steps = len(dockerfile_instructions((context / "Dockerfile").read_text()))
    tag = f"modelctl-security-test/scorer:{uuid.uuid4().hex[:8]}"
    log: list[str] = []
    try:
        for chunk in docker_client.api.build(
            path=str(context), tag=tag, rm=True, forcerm=True, pull=False, decode=True
        ):
            assert "error" not in chunk, f"build failed: {chunk['error']}\n{''.join(log[-40:])}"
            log.append(chunk.get("stream", ""))
        text = "".join(log)
        assert f"Step {steps}/{steps} :" in text, text[-2000:]  # every instruction is one of the template's
        assert "pwned" not in "".join(
            line for line in text.splitlines(True) if line.startswith("Step ") and " : RUN " in line
        )
        config = docker_client.images.get(tag).attrs["Config"]
        env = dict(item.split("=", 1) for item in config["Env"])
        for name, value in VALUES.items():
            assert env[name] == value, (name, env[name], value)
        described = config["Labels"]["org.opencontainers.image.description"]
        assert "\n" not in described and described == json.dumps(DESCRIPTION, ensure_ascii=False)[1:-1].replace(
            '\\"', '"'
        ).replace("\\\\", "\\"), described
        listing = docker_client.containers.run(tag, ["sh", "-c", "ls -a /tmp /; echo done"], remove=True).decode()
        assert "pwned" not in listing and "done" in listing
    finally:
        try:
            docker_client.images.remove(tag, force=True)
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass
