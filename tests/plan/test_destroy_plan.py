"""make_destroy_plan: every deployment and endpoint the targets in scope run is deleted, whatever git
says; preventDestroy refuses naming every protected one; the scope's targets bound it. Pure: fake facts."""

from __future__ import annotations

import pytest

from compiler.errors import PlanError
from compiler.plan import Scope, make_destroy_plan
from compiler.plan.scope import select
from compiler.targets import TARGET_TYPES


def _destroy(graph, live, targets=()):  # noqa: ANN001, ANN202
    scope = Scope(targets=tuple(targets))
    selection = select(graph, scope, TARGET_TYPES)
    return make_destroy_plan(graph, live.to_live(), types=TARGET_TYPES, selection=selection, scope=scope)


def test_everything_on_the_targets_is_deleted_even_what_git_still_wants(repo, converge):
    graph = repo.graph()
    plan = _destroy(graph, converge(graph))
    assert {a.resource: a.action for a in plan.actions} == {
        "Deployment/iris-local": "delete",
        "Deployment/other-local": "delete",
        "Deployment/iris-prod": "delete",
    }
    assert all(a.reasons[0].startswith("destroy: target ") for a in plan.actions)
    assert [s.deletes for s in plan.stages] == [True]


def test_targets_bound_the_destroy(repo, converge):
    graph = repo.graph()
    plan = _destroy(graph, converge(graph), targets=("local",))
    assert sorted(a.resource for a in plan.actions) == ["Deployment/iris-local", "Deployment/other-local"]
    assert {a.target for a in plan.actions} == {"local"}


def test_prevent_destroy_refuses_naming_every_protected_resource(repo, converge):
    text = (repo.root / "deployments/deployments.yaml").read_text()
    repo.write(
        "deployments/deployments.yaml",
        text.replace("target: local, auth", "target: local, lifecycle: {preventDestroy: true}, auth").replace(
            "target: prod}", "target: prod, lifecycle: {preventDestroy: true}}"
        ),
    )
    graph = repo.graph()
    with pytest.raises(PlanError) as err:
        _destroy(graph, converge(graph))
    said = str(err.value)
    assert "Deployment/iris-local on target local; Deployment/iris-prod on target prod were deployed" in said
    assert "other-local" not in said
    with pytest.raises(PlanError) as err:  # one target: only its protected deployments are named
        _destroy(graph, converge(graph), targets=("prod",))
    assert "Deployment/iris-prod on target prod was deployed" in str(err.value) and "iris-local" not in str(err.value)


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


def test_an_edge_target_is_destroyed_by_unpublishing_its_bundles(repo, converge):
    import dataclasses
    import json

    from compiler.plan.deployments import deployment_spec_json
    from compiler.plan.refs import image_reference
    from compiler.targets.publish.facts import PublishedFact

    repo.write("modelctl.yaml", (repo.root / "modelctl.yaml").read_text() + EDGE_TARGET)
    repo.write("deployments/cam.yaml", CAM)
    graph = repo.graph()
    node = graph.get("Deployment/cam")
    where = "/repo/published/edge/cam"
    fact = PublishedFact(
        "factory",
        "cam",
        node.fingerprint,
        image_reference(graph, graph.get(node.image_id)),
        json.dumps(deployment_spec_json(node)),
        where,
    )
    live = dataclasses.replace(converge(graph), published=(fact,))
    [action] = _destroy(graph, live, targets=("edge",)).actions
    assert (action.resource, action.action, action.target) == ("Deployment/cam", "delete", "factory")
    assert action.change.published == where  # the executor removes that bundle
    assert TARGET_TYPES["edge"].infrastructure("team", "factory", live.to_live().targets.get("factory")) == ()
    assert (
        "unpublishes the bundles"
        in TARGET_TYPES["edge"].kept_by_destroy("team", "factory", graph.workspace.spec.targets["factory"])[0]
    )
