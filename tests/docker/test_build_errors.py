"""A failing build on the real engine names the failing Dockerfile step and shows its output."""

from __future__ import annotations

import uuid

import pytest

from compiler.targets.docker.build import BuildFailed, DockerBuilder


def test_failing_step_is_named_with_its_output(tmp_path, docker_client, base_image):
    (tmp_path / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        "RUN echo preparing\n"
        "RUN echo 'pip: no matching distribution for scikit-learn==0.0.0' >&2 && exit 3\n"
        "RUN echo never reached\n"
    )
    ref = f"modelctl-test/build-error:{uuid.uuid4().hex[:8]}"
    with pytest.raises(BuildFailed) as err:
        DockerBuilder(docker_client).build(tmp_path, ref, resource="Image/broken", progress=lambda _text: None)
    message = str(err.value)
    assert message.startswith("Image/broken: docker build failed at Step 3/4 : RUN echo 'pip: no matching")
    assert "pip: no matching distribution for scikit-learn==0.0.0" in message  # the step's own output
    assert "returned a non-zero code: 3" in message
    assert "never reached" not in message and "502" not in message
