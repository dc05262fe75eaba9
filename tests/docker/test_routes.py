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
        ((("blue", 90), ("green", 10)), ["90% modelctl_blue;", "* modelctl_green;"], True),
        ((("blue", 100), ("green", 0)), ["* modelctl_blue;"], True),
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
