"""make_plan for edge / fpga deployments against fake published bundles (spec + facts → actions)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from live_support import make_plan
from testkit import changes

from compiler.plan import PlanError, Scope
from compiler.plan.deployments import deployment_spec_json
from compiler.plan.refs import image_reference
from compiler.plan.state import RecordFact
from compiler.render.edge import edge_manifest
from compiler.targets.publish.facts import PublishedFact

EDGE_TARGET = "    factory: {type: edge, publish: file://published/edge}\n"
CAM = """\
apiVersion: modelctl.io/v1
kind: Deployment
metadata: {name: cam}
spec:
  image: iris-scorer
  target: factory
  edge: {targetCondition: "tags.site='a'", priority: 1}
"""


@pytest.fixture
def edge_repo(repo):
    repo.write("modelctl.yaml", (repo.root / "modelctl.yaml").read_text() + EDGE_TARGET)
    repo.write("deployments/cam.yaml", CAM)
    return repo


def published(graph, **change):  # noqa: ANN001, ANN003
    node = graph.get("Deployment/cam")
    fact = PublishedFact(
        "factory",
        "cam",
        node.fingerprint,
        image_reference(graph, graph.get(node.image_id)),
        json.dumps(deployment_spec_json(node)),
        "/repo/published/edge/cam",
    )
    return dataclasses.replace(fact, **change)


def live_with(graph, converge, fact):  # noqa: ANN001, ANN201
    live = converge(graph)
    records = live.records + (
        RecordFact(
            "cam", "factory", "iris-scorer", 1, "/repo/published/edge/cam", graph.get("Deployment/cam").fingerprint
        ),
    )
    return dataclasses.replace(live, published=(fact,) if fact else (), records=records)


def test_unpublished_is_created_and_published_is_a_no_op(edge_repo, converge):
    graph = edge_repo.graph()
    plan = make_plan(graph, live_with(graph, converge, None))
    assert changes(plan) == {"Deployment/cam": "create"}
    reasons = plan.action("Deployment/cam").reasons
    assert reasons[0] == "publish: edge bundle of cam to target factory (file://published/edge)"
    assert reasons[1:] == (f"deployment {edge_manifest(graph, graph.get('Deployment/cam'))['id']} at priority 1",)
    assert "Deployment/cam" not in {n.resource for n in plan.not_applied}
    assert changes(make_plan(graph, live_with(graph, converge, published(graph)))) == {}


def test_a_bundle_changed_by_hand_is_republished(edge_repo, converge):
    graph = edge_repo.graph()
    plan = make_plan(graph, live_with(graph, converge, published(graph, intact=False)))
    assert changes(plan) == {"Deployment/cam": "update"}
    assert plan.action("Deployment/cam").reasons[0] == (
        "republish: the published files at /repo/published/edge/cam were changed by hand"
    )


def test_a_spec_change_republishes_with_its_field_diff(edge_repo, converge):
    graph = edge_repo.graph()
    old = published(graph, fingerprint="0" * 64)
    edge_repo.write("deployments/cam.yaml", CAM.replace("priority: 1", "priority: 4"))
    plan = make_plan(edge_repo.graph(), live_with(graph, converge, old))
    action = plan.action("Deployment/cam")
    assert changes(plan) == {"Deployment/cam": "update"}
    assert action.reasons[0] == "republish: spec.edge.priority changed"
    assert [(d.path, d.before, d.after) for d in action.diffs] == [("spec.edge.priority", 1, 4)]


def test_gone_from_git_is_unpublished_unless_protected(edge_repo, converge):
    graph = edge_repo.graph()
    fact = published(graph)
    edge_repo.remove("deployments/cam.yaml")
    plan = make_plan(edge_repo.graph(), live_with(graph, converge, fact))
    assert changes(plan) == {"Deployment/cam": "delete"}
    assert [(d.path, d.before, d.after) for d in plan.action("Deployment/cam").diffs] == [
        ("published", "/repo/published/edge/cam", None)
    ]
    assert changes(make_plan(edge_repo.graph(), live_with(graph, converge, fact), scope=Scope(prune=False))) == {}
    with pytest.raises(PlanError, match="preventDestroy"):
        make_plan(edge_repo.graph(), live_with(graph, converge, dataclasses.replace(fact, prevent_destroy=True)))
