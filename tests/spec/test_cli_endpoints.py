"""`modelctl endpoints list/status`: URL, split and health from the target's facts (a fake docker
connection here; the real engine is in tests/docker)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from compiler.cli.main import app
from compiler.targets import TARGET_TYPES
from compiler.targets.docker.facts import ContainerFact, DockerFacts, EndpointRouteFact, RouteFact, RouterFact

from spec_repo import BASE_REPO

runner = CliRunner()
LOCAL = {
    "modelctl.yaml": BASE_REPO["modelctl.yaml"],
    "deployments/d.yaml": BASE_REPO["deployments/d.yaml"].replace("target: prod", "target: local"),
    "endpoints/e.yaml": BASE_REPO["endpoints/e.yaml"].replace("target: prod", "target: local"),
}


def _container(name: str, deployment: str, health: str | None, state: str = "running") -> ContainerFact:
    return ContainerFact(f"id-{name}", name, "local", deployment, "fp", "img", state, health, "{}", 40001)


def _facts(green_health: str | None, live=(("blue", 90), ("green", 10)), running=True) -> DockerFacts:  # noqa: ANN001
    containers = (_container("c-blue", "blue", "healthy"), _container("c-green", "green", green_health))
    routes = (RouteFact("blue", "c-blue", 18001, 40001, "fp"), RouteFact("green", "c-green", 18002, 40001, "fp"))
    router = RouterFact(
        "local", "router", running, "127.0.0.1", routes, (EndpointRouteFact("web", 18010, "fp", tuple(live)),)
    )
    return DockerFacts(containers, router)


class FakeConnection:
    def __init__(self, facts: DockerFacts) -> None:
        self.facts = facts

    def read_facts(self, request):  # noqa: ANN001, ANN201
        return {name: self.facts for name, _ in request.targets}

    def close(self) -> None:
        pass


@pytest.fixture
def engine(monkeypatch):  # noqa: ANN001, ANN201
    def use(facts: DockerFacts) -> None:
        monkeypatch.setattr(type(TARGET_TYPES["docker"]), "connect", lambda self, options: FakeConnection(facts))

    return use


def test_list_shows_url_split_and_health(make_repo, engine):
    root = make_repo(LOCAL)
    engine(_facts("healthy"))
    result = runner.invoke(app, ["endpoints", "list", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row == {
        "name": "web",
        "target": "local",
        "targetType": "docker",
        "traffic": {"blue": 90, "green": 10},
        "liveTraffic": {"blue": 90, "green": 10},
        "url": "http://127.0.0.1:18010",
        "health": "healthy",
    }
    table = runner.invoke(app, ["endpoints", "list", str(root)]).output
    assert "http://127.0.0.1:18010" in table and "blue 90%, green 10%" in table and "healthy" in table


def test_an_unhealthy_deployment_with_traffic_degrades_the_endpoint(make_repo, engine):
    root = make_repo(LOCAL)
    engine(_facts("unhealthy", live=(("blue", 100), ("green", 0))))
    result = runner.invoke(app, ["endpoints", "status", "web", "--repo", str(root), "--format", "json"])
    assert json.loads(result.output)["health"] == "healthy"  # green has no traffic now
    engine(_facts("unhealthy"))
    result = runner.invoke(app, ["endpoints", "status", "web", "--repo", str(root), "--format", "json"])
    assert json.loads(result.output)["health"] == "degraded (green: unhealthy)"
    engine(_facts("healthy", running=False))
    result = runner.invoke(app, ["endpoints", "status", "web", "--repo", str(root)])
    assert "router down" in result.output and "http://127.0.0.1:18010" in result.output


def test_a_live_split_other_than_gits_is_shown(make_repo, engine):
    root = make_repo(LOCAL)
    engine(_facts("healthy", live=(("blue", 100), ("green", 0))))
    out = runner.invoke(app, ["endpoints", "list", str(root)]).output
    assert "routed now: blue 100%, green 0%" in " ".join(out.split())


def test_unreachable_targets_and_unknown_names(make_repo):
    root = make_repo()  # the endpoint is on a kubernetes target this machine has no kubeconfig for
    out = runner.invoke(app, ["endpoints", "list", str(root)]).output
    assert "web" in out and "unknown (" in out and "no kubeconfig" in out
    result = runner.invoke(app, ["endpoints", "status", "wbe", "--repo", str(root)])
    assert result.exit_code == 1 and "did you mean 'web'?" in result.output
    result = runner.invoke(app, ["endpoints", "list", str(root), "--target", "prd"])
    assert result.exit_code == 1 and "did you mean 'prod'?" in result.output
