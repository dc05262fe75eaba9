"""An Endpoint on a docker target: a router listener with its own stable port, split across
deployments by percent; a split change moves traffic without touching a container; removal closes it."""

from __future__ import annotations

import httpx
from testkit import changes

from docker_helpers import DEPLOYMENT, wait_for_scored

ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: web}
spec: {target: local, path: /iris, traffic: {blue: BLUE, green: GREEN}}
"""


def test_endpoint_splits_traffic_and_moves_it_without_a_roll(workspace):
    ws = workspace
    ws.write("deployments/green.yaml", DEPLOYMENT.format(name="green"))
    ws.write("endpoints/web.yaml", ENDPOINT.replace("BLUE", "50").replace("GREEN", "50"))
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert {"Deployment/blue", "Deployment/green"} <= set(plan.action("Endpoint/web").depends_on)
    url = ws.plan().action("Endpoint/web").change.url + "/iris"
    [blue], [green] = ws.backends("blue"), ws.backends("green")
    key = {"Authorization": f"Bearer {ws.key()}"}
    for _ in range(40):
        assert httpx.post(url + "/score", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers=key).status_code == 200
    split = wait_for_scored([blue, green], 40)
    assert sum(split) == 40 and min(split) >= 5, split  # 50/50 by random request id: both well used
    assert httpx.get(url.removesuffix("/iris") + "/v2/health/ready").status_code == 404  # only under /iris

    # 100/0: every request to blue; no container is replaced.
    ws.write("endpoints/web.yaml", ENDPOINT.replace("BLUE", "100").replace("GREEN", "0"))
    plan = ws.plan()
    assert changes(plan) == {"Endpoint/web": "update"}
    assert [(d.path, d.before, d.after) for d in plan.action("Endpoint/web").diffs] == [
        ("traffic.blue", 50, 100),
        ("traffic.green", 50, 0),
    ]
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    for _ in range(20):
        assert httpx.post(url + "/score", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers=key).status_code == 200
    assert wait_for_scored([blue, green], sum(split) + 20) == (split[0] + 20, split[1])
    assert [c.id for c in ws.backends("blue")] == [blue.id] and [c.id for c in ws.backends("green")] == [green.id]
    assert not ws.plan().has_changes

    # Gone from git: the listener is removed; the deployments keep serving on their own URLs.
    ws.remove("endpoints/web.yaml")
    plan, outcome = ws.apply()
    assert changes(plan) == {"Endpoint/web": "delete"} and outcome.ok
    try:
        httpx.get(url + "/v2/health/ready", timeout=2)
        raise AssertionError("the endpoint still answers")
    except httpx.ConnectError:
        pass
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200
    assert not ws.plan().has_changes
