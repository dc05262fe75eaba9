"""make_plan for endpoints: on docker targets a router listener (fake facts → actions); elsewhere render only."""

from __future__ import annotations

import dataclasses

from live_support import make_plan
from testkit import changes

from compiler.plan import Scope
from compiler.plan.document import from_document, to_document
from compiler.targets.docker.facts import EndpointRouteFact

ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: web}
spec: {target: local, traffic: {iris-local: 90, other-local: 10}}
"""


def shared_keys(repo) -> None:  # noqa: ANN001
    """Both deployments accept the same key (validation requires it behind one endpoint)."""
    path = repo.root / "deployments/deployments.yaml"
    repo.write(
        "deployments/deployments.yaml",
        path.read_text().replace(
            "spec: {image: other-scorer, target: local}",
            "spec: {image: other-scorer, target: local, auth: {mode: key, secretRef: iris-keys}}",
        ),
    )


def with_endpoint(live, fact):  # noqa: ANN001, ANN201
    routers = {k: dataclasses.replace(r, endpoints=(fact,) if fact else ()) for k, r in live.routers.items()}
    return dataclasses.replace(live, routers=routers)


def routed(graph, traffic=(("iris-local", 90), ("other-local", 10))):  # noqa: ANN001, ANN201
    return EndpointRouteFact("web", 18100, graph.get("Endpoint/web").fingerprint, traffic)


def test_an_endpoint_on_docker_is_created_then_a_no_op(repo, converge):
    shared_keys(repo)
    repo.write("endpoints/web.yaml", ENDPOINT)
    graph = repo.graph()
    plan = make_plan(graph, converge(graph))
    assert changes(plan) == {"Endpoint/web": "create"}
    action = plan.action("Endpoint/web")
    assert action.reasons == ("route: endpoint web on target local (iris-local 90%, other-local 10%)",)
    assert set(action.depends_on) == set()  # the deployments are converged: nothing to wait for
    assert from_document(to_document(plan)).action("Endpoint/web") == action  # the plan document round-trips
    assert changes(make_plan(graph, with_endpoint(converge(graph), routed(graph)))) == {}


def test_a_traffic_change_is_an_update_with_field_diffs(repo, converge):
    shared_keys(repo)
    repo.write("endpoints/web.yaml", ENDPOINT)
    graph = repo.graph()
    live = with_endpoint(converge(graph), routed(graph))
    repo.write(
        "endpoints/web.yaml", ENDPOINT.replace("iris-local: 90, other-local: 10", "iris-local: 50, other-local: 50")
    )
    plan = make_plan(repo.graph(), live)
    action = plan.action("Endpoint/web")
    assert changes(plan) == {"Endpoint/web": "update"}
    assert action.reasons == ("route: traffic iris-local 90%, other-local 10% → iris-local 50%, other-local 50%",)
    assert [(d.path, d.before, d.after) for d in action.diffs] == [
        ("traffic.iris-local", 90, 50),
        ("traffic.other-local", 10, 50),
    ]


def test_an_endpoint_gone_from_git_is_removed_after_everything_else(repo, converge):
    shared_keys(repo)
    repo.write("endpoints/web.yaml", ENDPOINT)
    graph = repo.graph()
    live = with_endpoint(converge(graph), routed(graph))
    repo.remove("endpoints/web.yaml")
    plan = make_plan(repo.graph(), live)
    assert changes(plan) == {"Endpoint/web": "delete"}
    assert plan.stages[-1].resources == ("Endpoint/web",)
    assert changes(make_plan(repo.graph(), live, scope=Scope(prune=False))) == {}


def test_a_new_deployment_in_the_split_is_deployed_before_the_endpoint_routes_to_it(repo, converge):
    shared_keys(repo)
    repo.write("endpoints/web.yaml", ENDPOINT)
    graph = repo.graph()
    live = with_endpoint(converge(graph), routed(graph))
    repo.write("artifacts/other.bin", "other v2")  # other-local rolls out
    plan = make_plan(repo.graph(), live)
    assert plan.action("Endpoint/web").action == "no-op"  # its upstream names do not change
    assert plan.action("Deployment/other-local").action == "update"


def _k8s_endpoint(repo, traffic: str = "iris-prod: 100"):  # noqa: ANN001, ANN202
    repo.write(
        "endpoints/web.yaml",
        ENDPOINT.replace("target: local", "target: prod").replace("iris-local: 90, other-local: 10", traffic),
    )
    return repo.graph()


def _with_route(graph, live):  # noqa: ANN001, ANN202
    """`live` plus the endpoint's HTTPRoute as modelctl applied it (it owns every field it set)."""
    from compiler.render.kubernetes import http_route
    from compiler.targets.kubernetes.facts import KubernetesFacts, ObjectFact

    node = graph.get("Endpoint/web")
    route = ObjectFact("HTTPRoute", "web", node.id, "prod", http_route(graph, node))
    facts = live.kubernetes["prod"]
    return live.replace(kubernetes={"prod": KubernetesFacts(facts.namespace, facts.objects + (route,))})


def test_an_endpoint_on_kubernetes_is_an_httproute_applied_after_its_deployments(repo, converge):
    graph = _k8s_endpoint(repo)
    live = converge(graph)
    plan = make_plan(graph, live)
    action = plan.action("Endpoint/web")
    assert action.action == "create" and action.reasons == ("route: endpoint web on target prod (iris-prod 100%)",)
    assert not plan.not_applied
    assert not make_plan(graph, _with_route(graph, live)).has_changes
    # a new deployment joins the split: it is rolled out first, the weights shift in a later stage
    old = _with_route(graph, live)
    repo.write(
        "deployments/more.yaml",
        "apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {name: iris-prod2}\n"
        "spec: {image: iris-scorer, target: prod}\n",
    )
    graph = _k8s_endpoint(repo, "iris-prod: 50, iris-prod2: 50")
    plan = make_plan(graph, old)
    assert changes(plan) == {"Deployment/iris-prod2": "create", "Endpoint/web": "update"}
    assert plan.action("Endpoint/web").reasons == ("route: traffic iris-prod 100% → iris-prod 50%, iris-prod2 50%",)
    stages = [s.resources for s in plan.stages]
    assert stages.index(("Deployment/iris-prod2",)) < stages.index(("Endpoint/web",))


def test_a_cluster_without_the_gateway_api_is_said_plainly(repo, converge):
    import pytest

    from compiler.errors import PlanError
    from compiler.targets.kubernetes.facts import KubernetesFacts

    graph = _k8s_endpoint(repo)
    live = converge(graph)
    facts = live.kubernetes["prod"]
    live = live.replace(kubernetes={"prod": KubernetesFacts(facts.namespace, facts.objects, ("HTTPRoute",))})
    with pytest.raises(
        PlanError, match=r"does not serve HTTPRoute \(gateway.networking.k8s.io/v1\): install the Gateway API"
    ):
        make_plan(graph, live)
