"""`modelctl ui` on the iris example before anything was applied: bad states are shown, not crashed on
(no registry yet, the kubernetes target with no API server, a repo that does not compile), every view
renders in real Chromium, markup in a model tag stays text, and the API is read-only JSON."""

from __future__ import annotations

from pathlib import Path

import httpx
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from testkit import wait_until
from ui_support import SCRIPT_TAG, chromium, open_view, screenshot, severe_console_errors, ui_server

VIEWS = ("graph", "registry", "deployments", "endpoints", "history", "monitoring", "plans")


def test_api_shows_bad_states_as_data(iris_copy):
    with ui_server(iris_copy) as ui:
        graph = ui.get("/api/v1/graph")
        assert graph.status_code == 200, graph.text
        body = graph.json()
        assert body["registry"] is False  # nothing applied yet
        prod = next(t for t in body["targets"] if t["name"] == "prod")
        assert prod["reachable"] is False and "kubeconfig" in prod["error"]  # no API server for it
        blue = next(n for n in body["nodes"] if n["id"] == "Deployment/iris-blue")
        assert blue["drift"] == "unknown" and blue["health"].startswith("unknown (target unreachable")
        local = next(n for n in body["nodes"] if n["id"] == "Deployment/iris-local")
        assert local["target"] == "local" and local["drift"] == "pending" and local["action"] == "create"
        assert {(e["source"], e["target"]) for e in body["edges"]} >= {
            ("Model/iris-classifier", "Image/iris-scorer"),
            ("Image/iris-scorer", "Deployment/iris-local"),
            ("Deployment/iris-blue", "Endpoint/iris"),
        }
        assert ui.get("/api/v1/registry").json()["present"] is False
        assert ui.get("/api/v1/history").json() == {"present": False, "actions": []}
        plan = ui.get("/api/v1/plan").json()["plan"]
        assert plan["hasChanges"] and "Deployment/iris-local" in plan["markdown"] and plan["scope"] == ["local"]
        monitoring = ui.get("/api/v1/monitoring/iris-local").json()
        assert "not deployed" in monitoring["error"]

        missing = ui.get("/api/v1/deployments/iris-lcal")
        assert missing.status_code == 404 and "did you mean 'iris-local'" in missing.json()["error"]
        assert ui.get("/api/v1/nothing-here").status_code == 404
        assert ui.get("/api/v1/nothing-here").headers["content-type"] == "application/json"
        bad = ui.get("/api/v1/history", params={"limit": "lots"})
        assert bad.status_code == 400 and "limit" in bad.json()["error"]
        no_git = ui.get("/api/v1/plan/pr", params={"base": "HEAD~1"})
        assert no_git.status_code == 422 and "not inside a git repository" in " ".join(no_git.json()["problems"])

        spec = ui.get("/api/v1/openapi.json").json()
        assert spec["openapi"].startswith("3.1") and "/graph" in spec["paths"] and "/plan/pr" in spec["paths"]
        assert all(set(ops) == {"get"} for ops in spec["paths"].values())


def test_read_only_every_other_method_is_json_405(iris_copy):
    with ui_server(iris_copy) as ui:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for path in ("/", "/api/v1/graph", "/api/v1/deployments/iris-local", "/static/app.js"):
                resp = httpx.request(method, ui.base + path, timeout=30)
                assert resp.status_code == 405, (method, path, resp.status_code)
                assert resp.json()["error"].startswith(f"method {method} not allowed")
                assert resp.headers["allow"] == "GET, HEAD"


def test_security_headers_on_pages_and_api(iris_copy):
    with ui_server(iris_copy) as ui:
        for path in ("/", "/api/v1/graph", "/static/app.js", "/api/v1/nope"):
            headers = ui.get(path).headers
            csp = headers["content-security-policy"]
            assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
            assert "frame-ancestors 'none'" in csp
            assert headers["x-content-type-options"] == "nosniff"
        page = ui.get("/").text
        assert "<script>" not in page and "onclick" not in page  # no inline script at all: src= only


def test_broken_repo_is_shown_not_crashed(iris_copy):
    (iris_copy / "deployments/iris-local.yaml").write_text(
        (iris_copy / "deployments/iris-local.yaml").read_text().replace("target: local", "target: lcal")
    )
    with ui_server(iris_copy) as ui:
        body = ui.get("/api/v1/graph").json()
        assert body["nodes"] == [] and body["workspace"] is None
        [problem] = body["problems"]
        assert (
            problem["location"].startswith("deployments/iris-local.yaml:")
            and "unknown target 'lcal'" in problem["message"]
        )


def test_every_view_renders_in_chromium_and_markup_stays_text(iris_copy):
    with ui_server(iris_copy) as ui, chromium() as driver:
        for view in VIEWS:
            open_view(driver, ui.url, view)
            screenshot(driver, f"before-apply-{view}")
        open_view(driver, ui.url, "graph")
        nodes = driver.execute_script("return window.modelctlUI.cy.nodes().map(n => n.id())")
        assert {"Model/iris-classifier", "Image/iris-scorer", "Deployment/iris-local", "Endpoint/iris"} <= set(nodes)
        banners = driver.find_element(By.ID, "banners").text
        assert "target prod (kubernetes) unreachable" in banners and "No registry yet" in banners
        # the tag's markup is shown as text and never ran; the page has only its own three scripts
        assert SCRIPT_TAG in driver.find_element(By.ID, "graph-nodes").text
        assert driver.execute_script("return window.__pwned") is None
        assert len(driver.find_elements(By.TAG_NAME, "script")) == 3
        # click through: a click on the node's box opens the deployment's details
        graph = driver.find_element(By.ID, "graph")
        x, y = driver.execute_script(
            "const p = window.modelctlUI.cy.$id('Deployment/iris-local').renderedPosition(); return [p.x, p.y]"
        )
        size = graph.size
        ActionChains(driver).move_to_element_with_offset(
            graph, int(x - size["width"] / 2), int(y - size["height"] / 2)
        ).click().perform()
        wait_until(
            lambda: driver.current_url.endswith("#/deployment/iris-local"), timeout=30, message="the click opened it"
        )
        main = driver.find_element(By.ID, "view")
        wait_until(
            lambda: main.get_attribute("data-state") == "ready" and "Deployment iris-local" in main.text, timeout=30
        )
        open_view(driver, ui.url, "deployment", "iris-blue")
        assert "target unreachable" in driver.find_element(By.ID, "view").text
        assert severe_console_errors(driver) == []  # no script error, no CSP violation
        driver.get(ui.url.split("#")[0] + "#/deployment/no-such")
        main = driver.find_element(By.ID, "view")
        wait_until(lambda: main.get_attribute("data-state") == "error", timeout=30, message="the error was shown")
        assert "no deployment named 'no-such'" in main.text


def test_cli_errors_are_messages(iris_copy, tmp_path):
    import socket
    import subprocess
    import sys

    def ui(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "compiler.cli.main", "ui", *args], capture_output=True, text=True, timeout=60
        )

    not_a_repo = ui(str(tmp_path))
    assert not_a_repo.returncode == 1 and "no modelctl.yaml: not a modelctl repo" in not_a_repo.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = ui(str(iris_copy), "--port", str(port))
    assert busy.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in busy.stderr, busy.stderr
    assert "http://" not in busy.stdout and "Traceback" not in busy.stderr
    missing = ui(str(iris_copy), "--baseline", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "baseline not found" in missing.stderr


def test_every_api_route_is_in_the_openapi_document_and_the_docs():
    from starlette.routing import Route

    from compiler.ui.app import API, create_app
    from compiler.ui.openapi import document

    app = create_app(Path(__file__).resolve().parents[2] / "examples/iris")
    routes = {r.path.removeprefix(API) for r in app.routes if isinstance(r, Route) and r.path.startswith(API)}
    assert routes == set(document()["paths"]), routes ^ set(document()["paths"])
    docs = (Path(__file__).resolve().parents[2] / "docs/ui.md").read_text()
    assert all(f"`GET /api/v1{path}" in docs for path in routes), [p for p in routes if f"`GET /api/v1{p}" not in docs]


def test_a_registry_that_does_not_answer_is_shown(iris_copy):
    workspace = iris_copy / "modelctl.yaml"
    workspace.write_text(
        workspace.read_text().replace(
            "registry: sqlite:///.modelctl/registry.db", "registry: postgresql+psycopg://nobody@127.0.0.1:9/none"
        )
    )
    with ui_server(iris_copy) as ui:
        body = ui.get("/api/v1/graph").json()
        [problem] = body["problems"]
        assert "cannot open the registry database" in problem["message"] and "nobody" in problem["message"]
        for path in ("/api/v1/registry", "/api/v1/history"):
            answer = ui.get(path)
            assert answer.status_code == 200 and answer.json()["present"] is False, path
            assert "cannot open the registry database" in answer.json()["error"], path


def test_a_big_workspace_is_drawn_grouped(tmp_path):
    import shutil

    from ui_support import EXAMPLE

    root = tmp_path / "big"
    (root / "artifacts").mkdir(parents=True)
    shutil.copy(EXAMPLE / "artifacts/iris.joblib", root / "artifacts/model.joblib")
    (root / "modelctl.yaml").write_text(
        "apiVersion: modelctl.io/v1\nkind: Workspace\nmetadata: {name: uibig}\n"
        "spec:\n  imageRegistry: 127.0.0.1:5000/uibig\n  targets:\n    local: {type: docker}\n"
    )
    docs = [
        "apiVersion: modelctl.io/v1\nkind: Model\nmetadata: {name: iris}\n"
        "spec: {framework: sklearn, path: artifacts/model.joblib}\n",
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris], environment: curated/sklearn}\n",
    ] + [
        f"apiVersion: modelctl.io/v1\nkind: Deployment\nmetadata: {{name: d{i:03d}}}\n"
        "spec: {image: scorer, target: local, resources: {cpu: 100m, memory: 256Mi}}\n"
        for i in range(400)
    ]
    (root / "all.yaml").write_text("---\n".join(docs))
    with ui_server(root) as ui, chromium() as driver:
        assert len([n for n in ui.get("/api/v1/graph").json()["nodes"] if n["kind"] == "Deployment"]) == 400
        open_view(driver, ui.url, "graph")
        drawn = driver.execute_script("return window.modelctlUI.cy.nodes().map(n => [n.id(), n.data('label')])")
        singles = [i for i, _ in drawn if i.startswith("Deployment/")]
        groups = [label for i, label in drawn if i.startswith("group:")]
        assert len(singles) == 60 and len(groups) == 1, (len(singles), groups)
        assert groups[0].startswith("340 Deployments of scorer on local")
        rows = driver.find_elements(By.CSS_SELECTOR, "#graph-nodes tbody tr")
        assert len(rows) == 200  # a page of the 402 nodes not in sync; "show more" for the rest
        screenshot(driver, "big-graph")
