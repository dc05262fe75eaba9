"""Route files of the docker router: one upstream server per replica, and a header that reads back."""

from __future__ import annotations

import pytest

from compiler.targets.docker.facts import RouteFact
from compiler.targets.docker.router import Router, parse_route_header


def router() -> Router:
    return Router(client=None, workspace="team", target_name="local", bind_address="127.0.0.1", base="base")


@pytest.mark.parametrize(
    "replicas", [(), (("team-blue-abc", 40001), ("team-blue-abc-2", 40002), ("team-blue-abc-3", 40003))]
)
def test_route_file_balances_over_every_replica_and_reads_back(replicas):
    route = RouteFact("blue", "team-blue-abc", 18000, 40001, "f" * 64, True, replicas)
    text = router().route_text(route)
    servers = [line.strip() for line in text.splitlines() if line.strip().startswith("server 127.0.0.1:")]
    assert servers == [f"server 127.0.0.1:{port};" for _, port in route.servers]
    assert "least_conn;" in text and "listen 127.0.0.1:18000;" in text
    assert parse_route_header(text.splitlines()[0]) == route


def test_a_route_file_written_before_replicas_reads_as_one_server():
    old = (
        '# modelctl-route {"backendPort": 40001, "container": "team-blue-abc", "deployment": "blue", '
        '"fingerprint": "ff", "port": 18000, "preventDestroy": false}'
    )
    route = parse_route_header(old)
    assert route is not None and route.servers == (("team-blue-abc", 40001),)


@pytest.mark.parametrize("line", ["# hand-written", '# modelctl-route {"deployment": "x"}', "# modelctl-route {"])
def test_files_that_are_not_ours_are_ignored(line):
    assert parse_route_header(line) is None


@pytest.mark.parametrize(
    "traffic, split, proxied",
    [
        ((("blue", 90), ("green", 10)), ["90% modelctl_ep.web-ep.blue;", "* modelctl_ep.web-ep.green;"], True),
        ((("blue", 100), ("green", 0)), ["* modelctl_ep.web-ep.blue;"], True),
        ((("blue", 0), ("green", 0)), ['* "";'], False),
    ],
)
def test_endpoint_file_splits_by_percent_and_reads_back(traffic, split, proxied):
    from compiler.targets.docker.facts import EndpointRouteFact
    from compiler.targets.docker.router import parse_endpoint_header, parse_route_header

    ep = EndpointRouteFact("web-ep", 18005, "f" * 64, traffic, "/iris")
    text = router().endpoint_text(ep)
    block = text.split("split_clients", 1)[1].split("\n}", 1)[0]
    assert [line.strip() for line in block.splitlines()[1:] if line.strip()] == split
    assert "listen 127.0.0.1:18005;" in text and "location /iris/ {" in text
    assert ("proxy_pass http://$modelctl_ep_web_ep;" in text) is proxied
    assert ("rewrite ^/iris/(.*)$ /$1 break;" in text) is proxied
    assert ("return 503" in text) is not proxied
    first = text.splitlines()[0]
    assert parse_endpoint_header(first) == ep and parse_route_header(first) is None


def _upstreams(text: str) -> dict[str, list[str]]:
    """{upstream name: its server lines} of an nginx file's top-level `upstream NAME {` blocks."""
    out: dict[str, list[str]] = {}
    for block in ("\n" + text).split("\nupstream ")[1:]:
        name, body = block.split(" {", 1)
        out[name] = [line.strip() for line in body.split("\n}", 1)[0].splitlines() if line.strip()]
    return out


def test_an_endpoint_fails_over_to_its_other_weighted_deployments_never_to_weight_0():
    from compiler.targets.docker.facts import EndpointRouteFact

    ep = EndpointRouteFact("web", 18005, "f" * 64, (("blue", 60), ("green", 40), ("staged", 0)), "/iris")
    upstreams = _upstreams(router().endpoint_text(ep))
    sock = "/tmp/nginx/deployment.{}.sock".format
    assert upstreams == {
        "modelctl_ep.web.blue": [f"server unix:{sock('blue')};", f"server unix:{sock('green')} backup;"],
        "modelctl_ep.web.green": [f"server unix:{sock('green')};", f"server unix:{sock('blue')} backup;"],
    }
    route = RouteFact("green", "team-green-abc", 18001, 40001, "f" * 64, False)
    assert f"listen unix:{sock('green')};" in router().route_text(route)  # what the endpoint reaches


def test_every_server_answers_its_own_errors_as_json_and_metrics_stay_off_the_split():
    from compiler.targets.docker.facts import EndpointRouteFact
    from compiler.targets.docker.router import image_files

    include = "include /etc/modelctl-router/json-errors.conf;"
    ep = EndpointRouteFact("web", 18005, "f" * 64, (("blue", 100),), "/iris")
    text = router().endpoint_text(ep)
    assert include in text and include in router().route_text(RouteFact("b", "c", 1, 2, "f", False))
    metrics = text.split("location = /iris/metrics {")[1].split("\n    }")[0]
    assert "return 405;" in metrics and "error_page 405 @modelctl_metrics_405;" in metrics
    assert "auth_request /_modelctl/credentials;" in metrics and "error_page 404 @modelctl_metrics;" in metrics
    assert "proxy_pass http://$modelctl_ep_web/v2;" in text  # the credentials are the deployments' to check
    errors = image_files()["json-errors.conf"]
    for status in (400, 404, 405, 413, 500, 502, 503, 504):
        assert f"error_page {status} @modelctl_{status};" in errors
        assert f'return {status} \'{{"error": ' in errors
    assert 'add_header Allow "GET, HEAD, POST" always;' in errors
    assert "proxy_intercept_errors" not in text  # backend errors pass through unchanged


def test_a_replaced_router_gets_its_routes_in_this_versions_form():
    old = (
        '# modelctl-route {"backendPort": 40001, "container": "c", "deployment": "blue", '
        '"fingerprint": "ff", "port": 18000, "preventDestroy": false}\nupstream modelctl_blue { server x; }\n'
    )
    files = router().rendered_again({"blue.conf": old.encode(), "mine.conf": b"# hand-written\n"})
    assert files["mine.conf"] == b"# hand-written\n"
    assert "include /etc/modelctl-router/json-errors.conf;" in files["blue.conf"].decode()
    assert parse_route_header(files["blue.conf"].decode().splitlines()[0]) == parse_route_header(old.splitlines()[0])
