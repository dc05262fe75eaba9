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


def _record_blue_green(root) -> None:  # noqa: ANN001
    from compiler.registry import open_registry

    with open_registry("sqlite:///.modelctl/registry.db", "file://.modelctl/artifacts", root) as reg:
        reg.register_image("scorer", fingerprint="f" * 64, models=[], environment="curated/sklearn")
        for name in ("blue", "green"):
            reg.record_deployment(name, "local", "scorer", 1, f"http://127.0.0.1:1800{len(name)}", "fp")


def test_deployments_list_shows_the_endpoints_routing_to_each(make_repo, engine):
    root = make_repo(LOCAL)
    _record_blue_green(root)
    engine(_facts("healthy", live=(("blue", 100), ("green", 0))))
    result = runner.invoke(app, ["deployments", "list", str(root), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert rows["blue"]["endpoints"] == [
        {"name": "web", "weight": 90, "routedWeight": 100, "url": "http://127.0.0.1:18010"}
    ]
    assert rows["green"]["endpoints"] == [
        {"name": "web", "weight": 10, "routedWeight": 0, "url": "http://127.0.0.1:18010"}
    ]
    assert rows["blue"]["health"] == "healthy" and "containers" in rows["blue"]  # the earlier fields stay
    text = " ".join(runner.invoke(app, ["deployments", "list", str(root)], terminal_width=200).output.split())
    assert "ENDPOINTS" in text and "web 90% (routed now 100%)" in text and "web 10% (routed now 0%)" in text
    assert "Endpoints" in text and "http://127.0.0.1:18010" in text  # the endpoints' table beneath


def test_deployments_list_without_endpoints_has_an_empty_list(make_repo, engine):
    root = make_repo({**LOCAL, "endpoints/e.yaml": None})
    _record_blue_green(root)
    engine(_facts("healthy"))
    rows = json.loads(runner.invoke(app, ["deployments", "list", str(root), "--format", "json"]).output)
    assert [r["endpoints"] for r in rows] == [[], []]
    assert "Endpoints" not in runner.invoke(app, ["deployments", "list", str(root)]).output
