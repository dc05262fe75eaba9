"""A pinned model (`iris@1`) ships the registry's copy of that version, not the repo's current file;
a new model file does not rebuild a pinned image; a pin to a version that does not exist is a plan
error."""

from __future__ import annotations

import hashlib
import json

import pytest
from testkit import changes

from compiler.plan import PlanError

from docker_helpers import EXAMPLE

PINNED = (
    "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
    "spec: {models: [iris@VERSION], environment: curated/sklearn}\n"
)


def shipped(ws, deployment: str) -> list[dict]:  # noqa: ANN001
    """The models the running image carries, from its labels (what render wrote from the files)."""
    [container] = ws.backends(deployment)
    return json.loads(ws.docker.images.get(container.image.id).labels["modelctl.io/models"])


def test_a_pinned_version_is_built_from_the_registry(workspace):
    ws = workspace
    v1 = (EXAMPLE / "artifacts/iris.joblib").read_bytes()
    v2 = (EXAMPLE / "artifacts/iris-forest.joblib").read_bytes()
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]

    # The repo moves on to v2 while the image pins v1: the image ships v1's bytes.
    ws.write("artifacts/model.joblib", v2)
    ws.write("images/scorer.yaml", PINNED.replace("VERSION", "1"))
    plan = ws.plan()
    assert changes(plan) == {"Model/iris": "update", "Image/scorer": "update", "Deployment/blue": "update"}
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert shipped(ws, "blue") == [
        {"name": "iris", "version": "1", "digest": "sha256:" + hashlib.sha256(v1).hexdigest()}
    ]
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200  # the runtime verified the digest
    with ws.session() as s:
        assert s.registry.get_model("iris", "latest").version == 2

    # Another model file (v1's bytes again: they differ from latest v2, so they become v3) leaves
    # the pinned image and its deployment alone.
    ws.write("artifacts/model.joblib", v1)
    plan = ws.plan()
    assert changes(plan) == {"Model/iris": "update"}
    assert plan.action("Model/iris").reasons == ("register: model iris 2 → 3",)

    # A pin past the newest version is refused before anything runs.
    ws.write("images/scorer.yaml", PINNED.replace("VERSION", "7"))
    with pytest.raises(PlanError, match=r"model iris@7 does not exist \(the registry has versions 1..3"):
        ws.plan()
