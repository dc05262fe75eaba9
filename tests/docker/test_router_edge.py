"""The serving edge through the real router: failover, the router's own errors as JSON, /metrics
off the split, and the service checked by promtool and schemathesis (`--checks all`).

One workspace for the module: deployments blue and green (50/50) and staged (weight 0) behind
endpoint `web` at /iris. The failover test stops containers, so it runs last and starts them again.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from testkit import wait_until

from docker_helpers import DEPLOYMENT, new_workspace, remove_workspace, scored, wait_for_scored

ENDPOINT = """\
apiVersion: modelctl.io/v1
kind: Endpoint
metadata: {name: web}
spec: {target: local, path: /iris, traffic: {blue: 50, green: 50, staged: 0}}
"""
ROW = [5.1, 3.5, 1.4, 0.2]


def _tool(name: str, path: str | None) -> str:
    """A command-line tool's path; missing: the test fails on CI, is skipped elsewhere."""
    if path and Path(path).exists():
        return path
    message = f"{name} is not installed (scripts/services.sh installs it; the dev extra has schemathesis)"
    if os.environ.get("CI"):
        pytest.fail(message + " [CI is set: must not be skipped]", pytrace=False)
    pytest.skip(message)


def _apply(ws) -> None:  # noqa: ANN001
    # On a loaded machine a health gate can miss its deadline: apply is idempotent, so a second one
    # starts just what failed (this module tests the router, not the gate).
    for _ in range(2):
        _plan, outcome = ws.apply()
        if outcome.ok:
            return
    pytest.fail("apply failed:\n" + "\n".join(r.message for r in outcome.results), pytrace=False)


@pytest.fixture(scope="module")
def edge(tmp_path_factory, docker_client, oci_registry, base_image):
    ws = new_workspace(tmp_path_factory.mktemp("edge") / "repo", docker_client, oci_registry, base_image)
    try:
        # One deployment per apply (fewer containers starting at once on a shared machine), then
        # the endpoint over all three.
        for name in ("blue", "green", "staged"):
            ws.write(f"deployments/{name}.yaml", DEPLOYMENT.format(name=name))
            _apply(ws)
        ws.write("endpoints/web.yaml", ENDPOINT)
        _apply(ws)
        ws.endpoint_url = ws.plan().action("Endpoint/web").change.url + "/iris"
        yield ws
    finally:
        remove_workspace(ws)


def _auth(ws) -> dict:  # noqa: ANN001
    return {"Authorization": f"Bearer {ws.key()}"}


def _json_error(response: httpx.Response, status: int) -> str:
    """The response is `status` with a JSON body in the runtime's error shape; its message."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


def _raw(url: str, request: bytes) -> httpx.Response:
    """Send bytes as they are (a declared body larger than the router takes) and parse the answer."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return httpx.Response(int(lines[0].split()[1]), headers=headers, content=body)


def test_the_router_answers_its_own_errors_as_json_and_passes_the_runtimes_through(edge):
    ws, blue = edge, edge.url("blue")
    for url in (blue, ws.endpoint_url):
        trace = httpx.request("TRACE", url + "/score")  # nginx refuses TRACE itself
        _json_error(trace, 405)
        assert trace.headers["allow"] == "GET, HEAD, POST"
        request = f"POST /iris/score HTTP/1.1\r\nHost: x\r\nContent-Length: {300 * 1024 * 1024}\r\n\r\n"
        assert "larger than the router accepts" in _json_error(_raw(url, request.encode()), 413)
        # The runtime's own errors pass through the router unchanged, Allow included.
        direct = httpx.get(url + "/score", headers=_auth(ws))
        assert "method GET not allowed" in _json_error(direct, 405) and direct.headers["allow"] == "POST"
        assert "unknown model 'nope'" in _json_error(httpx.get(url + "/v2/models/nope", headers=_auth(ws)), 404)
    root = ws.endpoint_url.removesuffix("/iris")
    assert "serves only under /iris/" in _json_error(httpx.get(root + "/elsewhere"), 404)


def test_metrics_are_scraped_from_the_deployments_not_through_the_endpoint(edge):
    ws = edge
    for path in ("/metrics", "/metrics/"):
        message = _json_error(httpx.get(ws.endpoint_url + path, headers=_auth(ws)), 404)
        assert "scrape each deployment" in message and "blue" in message and "green" in message
        # Without valid credentials the answer is the deployments' 401, as on a deployment's /metrics.
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            denied = httpx.get(ws.endpoint_url + path, headers=headers)
            _json_error(denied, 401)
            assert denied.headers["www-authenticate"].startswith("Bearer")
    direct = httpx.get(ws.url("blue") + "/metrics", headers=_auth(ws))
    assert direct.status_code == 200 and "modelctl_requests_total" in direct.text


def test_promtool_finds_no_problem_in_a_deployments_metrics(edge):
    promtool = _tool("promtool", shutil.which("promtool"))
    ws = edge
    for body in ({"data": [ROW]}, {"data": []}, "{"):  # 200, 422, 400: several label sets
        httpx.post(ws.url("blue") + "/score", json=body if isinstance(body, dict) else None, headers=_auth(ws))
    text = httpx.get(ws.url("blue") + "/metrics", headers=_auth(ws)).text
    assert "modelctl_request_duration_seconds_bucket" in text
    run = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and not run.stdout.strip() and not run.stderr.strip(), run.stdout + run.stderr


@pytest.mark.parametrize("where", ["deployment", "endpoint"])
def test_schemathesis_checks_all_find_nothing(edge, where, tmp_path):
    st = _tool("schemathesis", str(Path(sys.executable).parent / "st"))
    ws = edge
    base = ws.url("blue") if where == "deployment" else ws.endpoint_url
    run = subprocess.run(
        [
            st,
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            base + "/openapi.json",
            "--url",
            base,
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {ws.key()}",
            "--max-examples",
            "25",
            "--workers",
            "1",
            "--seed",
            "1",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]  # exit 0: no failure, no error


def test_a_deployment_that_is_down_costs_the_endpoint_nothing(edge):
    ws = edge
    [blue], [green], [staged] = ws.backends("blue"), ws.backends("green"), ws.backends("staged")
    blue.stop(timeout=2)
    try:
        # blue's own URL: every replica refuses → the router's JSON 502.
        assert "no backend could answer" in _json_error(ws.score("blue", [ROW]), 502)
        before = (scored(green), scored(staged))
        statuses = [
            httpx.post(ws.endpoint_url + "/score", json={"data": [ROW]}, headers=_auth(ws), timeout=10).status_code
            for _ in range(40)
        ]
        assert statuses == [200] * 40, statuses  # blue's half failed over to green
        assert wait_for_scored([green], before[0] + 40) == (before[0] + 40,)
        assert scored(staged) == before[1]  # weight 0: no traffic while green is healthy

        green.stop(timeout=2)
        # Both weighted deployments down: JSON 502, and still nothing for the weight-0 deployment.
        down = httpx.post(ws.endpoint_url + "/score", json={"data": [ROW]}, headers=_auth(ws), timeout=10)
        assert "no backend could answer" in _json_error(down, 502)
        assert scored(staged) == before[1]
    finally:
        for c in (blue, green):
            c.start()
    wait_until(
        lambda: all(ws.score(d, [ROW]).status_code == 200 for d in ("blue", "green")),
        timeout=60,
        ignore=(httpx.HTTPError,),
        message="blue and green serve again after being started",
    )
