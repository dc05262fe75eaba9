"""IoT Hub semantics in the plan of edge deployments (spec + published facts → actions): new content
is a new deployment id that outranks and retires the live one; targetCondition, labels and priority
change in place."""

from __future__ import annotations

import dataclasses
import json

import pytest
from live_support import make_plan
from test_diff_published import CAM, EDGE_TARGET, live_with, published
from testkit import changes

from compiler.render.edge import edge_manifest
from compiler.targets.publish.iothub import LiveDeployment


@pytest.fixture
def edge_repo(repo):
    repo.write("modelctl.yaml", (repo.root / "modelctl.yaml").read_text() + EDGE_TARGET)
    repo.write("deployments/cam.yaml", CAM)
    return repo


def published_from(graph, **change):  # noqa: ANN001, ANN003, ANN201
    """What publishing the graph's deployment wrote: its marker facts and its deployment.json."""
    node = graph.get("Deployment/cam")
    manifest = {**edge_manifest(graph, node), **change}
    live = LiveDeployment.from_manifest(manifest, node.spec.edge.priority)
    return dataclasses.replace(published(graph), edge=live), manifest


def plan_over(edge_repo, converge, old_graph, **change):  # noqa: ANN001, ANN003, ANN201
    fact, manifest = published_from(old_graph, **change)
    return make_plan(edge_repo.graph(), live_with(old_graph, converge, fact)), manifest


def test_a_content_change_is_a_new_deployment_id_above_the_old_one_which_is_retired(edge_repo, converge):
    old = edge_repo.graph()
    edge_repo.write("deployments/cam.yaml", CAM.replace("  edge:", "  env: {LOG_LEVEL: debug}\n  edge:"))
    plan, live = plan_over(edge_repo, converge, old)
    action = plan.action("Deployment/cam")
    assert changes(plan) == {"Deployment/cam": "update"}
    new_id = edge_manifest(edge_repo.graph(), edge_repo.graph().get("Deployment/cam"))["id"]
    assert new_id != live["id"] and new_id.startswith("cam-") and live["id"].startswith("cam-")
    assert action.reasons[-1] == (
        f"new deployment {new_id}: content is immutable once published and modules.cam changed; "
        f"priority 2 above {live['id']} (1), which is retired once {new_id} is published"
    )
    diffs = {d.path: (d.before, d.after) for d in action.diffs}
    assert diffs["deployment.id"] == (live["id"], new_id)
    assert diffs["deployment.priority"] == (1, 2)  # the spec says 1: raised to outrank the old one


def test_a_new_id_keeps_a_spec_priority_already_above_the_old_one(edge_repo, converge):
    old = edge_repo.graph()
    edge_repo.write(
        "deployments/cam.yaml",
        CAM.replace("priority: 1", "priority: 7").replace("  edge:", "  env: {LOG_LEVEL: debug}\n  edge:"),
    )
    plan, live = plan_over(edge_repo, converge, old)
    action = plan.action("Deployment/cam")
    assert "priority 7 above" in action.reasons[-1] and f"{live['id']} (1)" in action.reasons[-1]
    assert "deployment.priority" not in {d.path for d in action.diffs}  # the spec's priority is enough


def test_a_target_condition_only_change_updates_in_place(edge_repo, converge):
    old = edge_repo.graph()
    edge_repo.write("deployments/cam.yaml", CAM.replace("tags.site='a'", "tags.site='b'"))
    plan, live = plan_over(edge_repo, converge, old)
    action = plan.action("Deployment/cam")
    assert changes(plan) == {"Deployment/cam": "update"}
    assert action.reasons == (
        "republish: spec.edge.targetCondition changed",
        f"update deployment {live['id']} in place: targetCondition changed (content unchanged)",
    )
    assert "deployment.id" not in {d.path for d in action.diffs}


def test_a_raised_priority_stays_until_the_spec_priority_changes(edge_repo, converge):
    old = edge_repo.graph()
    # published at 5 to outrank an earlier id, from a spec that says 1; now the condition changes
    edge_repo.write("deployments/cam.yaml", CAM.replace("tags.site='a'", "tags.site='b'"))
    plan, live = plan_over(edge_repo, converge, old, priority=5)
    assert plan.action("Deployment/cam").reasons[-1] == (
        f"update deployment {live['id']} in place: targetCondition changed (content unchanged)"
    )
    edge_repo.write("deployments/cam.yaml", CAM.replace("priority: 1", "priority: 3"))
    plan, live = plan_over(edge_repo, converge, old, priority=5)
    assert plan.action("Deployment/cam").reasons[-1] == (
        f"update deployment {live['id']} in place: priority changed (content unchanged)"
    )


def test_the_published_deployment_json_is_what_the_facts_read(edge_repo, converge, tmp_path):
    """The facts come from the published location: a published deployment.json read back."""
    from compiler.targets.publish.bundles import FileBundles
    from compiler.targets.publish.facts import _live_deployment
    from compiler.targets.publish.location import FileLocation

    graph = edge_repo.graph()
    manifest = {**edge_manifest(graph, graph.get("Deployment/cam")), "priority": 4}
    src = tmp_path / "rendered"
    src.mkdir()
    (src / "deployment.json").write_text(json.dumps(manifest))
    store = FileBundles(FileLocation(tmp_path / "pub"), "team")
    marker = {
        "managedBy": "modelctl",
        "workspace": "team",
        "resource": "Deployment/cam",
        "spec": {"edge": {"priority": 1}},
    }
    store.put("cam", src, marker)
    [bundle] = store.list()
    live = _live_deployment(store, bundle)
    assert (live.id, live.priority, live.spec_priority) == (manifest["id"], 4, 1)
