"""Objects of a docker target found by their labels under the names of an earlier version: the plan
rolls them onto this version's names (compiler/targets/docker/names.py)."""

from __future__ import annotations

import dataclasses

from live_support import make_plan


def test_the_plan_renames_containers_and_the_router_of_an_earlier_version(repo, converge):
    graph = repo.graph()
    live = converge(graph)
    assert not make_plan(graph, live).has_changes

    old = tuple(dataclasses.replace(c, renamed=c.deployment == "iris-local") for c in live.containers)
    plan = make_plan(graph, live.replace(containers=old))
    assert plan.action("Deployment/iris-local").action == "update"
    iris = next(c.name for c in old if c.deployment == "iris-local")
    assert plan.action("Deployment/iris-local").reasons == (
        f"rename: container {iris} takes this version's names (a blue/green roll)",
    )
    assert plan.action("Deployment/other-local").action == "no-op"

    router = dataclasses.replace(live.routers["local"], renamed=True)
    plan = make_plan(graph, live.replace(routers={"local": router}))
    for name in ("iris-local", "other-local"):
        action = plan.action(f"Deployment/{name}")
        assert (action.action, action.reasons) == ("update", (f"router: {router.container} takes this version's name",))
