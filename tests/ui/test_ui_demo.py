"""The dashboard over the iris demo applied on the real Docker engine, in real Chromium: every view
renders; a failed apply stands out in the history; a container stopped by hand is marked drifted on
the graph; the monitoring charts have data points; no secret value is in any page or API response."""

from __future__ import annotations

import random
from pathlib import Path

import git
import httpx
import pytest
from selenium.webdriver.common.by import By
from testkit import wait_until
from ui_support import (
    SCREENSHOTS,
    SCRIPT_TAG,
    chromium,
    copy_example,
    open_view,
    screenshot,
    severe_console_errors,
    ui_server,
)

from compiler.plan import Scope
from compiler.workflow import apply_repo

BROKEN_SCRIPT = (
    "def init():\n    raise RuntimeError('model store unreachable (on purpose)')\n\n\ndef run(data):\n    return data\n"
)
BROKEN_IMAGE = """\
apiVersion: modelctl.io/v1
kind: Image
metadata: {name: iris-scorer}
spec:
  models: [iris-classifier@latest]
  environment: curated/sklearn
  scoring: {script: score/broken.py}
"""
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.2, 2.9, 4.3, 1.3], [7.7, 3.0, 6.1, 2.3], [5.0, 3.4, 1.5, 0.2]]
API_PATHS = (
    "/api/v1/workspace",
    "/api/v1/graph",
    "/api/v1/deployments",
    "/api/v1/deployments/iris-local",
    "/api/v1/endpoints",
    "/api/v1/registry",
    "/api/v1/history",
    "/api/v1/monitoring/iris-local",
    "/api/v1/plan",
    "/api/v1/plan/pr?base=HEAD~2&head=HEAD",
    "/api/v1/openapi.json",
)


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add("-A")
    actor = git.Actor("ui-tester", "ui@example.com")
    return repo.index.commit(message, author=actor, committer=actor).hexsha


def apply_local(root: Path):  # noqa: ANN201
    """`modelctl apply ROOT --targets local --auto-approve`, through the real entry point."""
    run = apply_repo(root, Scope(targets=("local",)))
    assert run.outcome is not None
    return run.outcome


def score(url: str, key: str, n: int) -> None:
    for _ in range(n):
        resp = httpx.post(url + "/score", json={"data": ROWS}, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert resp.status_code == 200, resp.text


@pytest.fixture
def demo(tmp_path, docker_client, oci_registry, base_image):
    """examples/iris applied on the real engine (target local), then a failed apply, in a git repo."""
    root = copy_example(tmp_path / "iris")
    name = next(
        line.split(":", 1)[1].strip() for line in (root / "modelctl.yaml").read_text().splitlines() if "name:" in line
    )
    lo = random.randrange(30000, 39000, 20)
    text = (root / "modelctl.yaml").read_text()
    text = text.replace("127.0.0.1:5000/iris", f"{oci_registry}/{name}").replace(
        "modelctl/python-base:bookworm", base_image
    )
    text = text.replace(
        "    local:\n      type: docker\n", f"    local:\n      type: docker\n      portRange: [{lo}, {lo + 19}]\n"
    )
    (root / "modelctl.yaml").write_text(text)
    # a patient readiness budget for the good image (a busy 2-core machine loads sklearn slowly); the
    # broken one gets a short one, so its failed apply ends soon
    local = root / "deployments/iris-local.yaml"
    patient = local.read_text() + "  probes: {readiness: {periodSeconds: 2, failureThreshold: 60}}\n"
    local.write_text(patient)
    repo = git.Repo.init(root, initial_branch="main")
    commit_all(repo, "the iris demo")
    try:
        first = apply_local(root)
        assert first.ok, [r.message for r in first.results if r.result != "ok"]
        good_image = (root / "images/iris-scorer.yaml").read_text()
        (root / "score").mkdir()
        (root / "score/broken.py").write_text(BROKEN_SCRIPT)
        (root / "images/iris-scorer.yaml").write_text(BROKEN_IMAGE + "---\n" + good_image.split("---\n", 1)[1])
        local.write_text(
            patient.replace("periodSeconds: 2, failureThreshold: 60", "periodSeconds: 1, failureThreshold: 3")
        )
        commit_all(repo, "a broken scoring script")
        failed = apply_local(root)
        assert not failed.ok and any(
            r.resource == "Deployment/iris-local" for r in failed.results if r.result == "failed"
        )
        (root / "images/iris-scorer.yaml").write_text(good_image)
        local.write_text(patient)
        (root / "score/broken.py").unlink()
        commit_all(repo, "revert the broken scoring script")
        yield root, name, docker_client
    finally:
        for c in docker_client.containers.list(all=True, filters={"label": [f"modelctl.io/workspace={name}"]}):
            c.remove(force=True, v=True)
        for v in docker_client.volumes.list(filters={"label": f"modelctl.io/workspace={name}"}):
            v.remove(force=True)


def _write_baseline(path: Path, features: list[str]) -> None:
    """A CSV baseline with the features the runtime collected, shifted away from what the test sends."""
    rows = [",".join(f'"{f}"' for f in features)]
    rows += [",".join(str(10.0 + i % 7 + j) for j in range(len(features))) for i in range(70)]
    path.write_text("\n".join(rows) + "\n")


def test_dashboard_over_the_applied_demo(demo, tmp_path):
    root, name, docker_client = demo
    key = (root / ".modelctl/secrets/iris-keys").read_text().strip()
    assert len(key) >= 16
    baseline = tmp_path / "baseline.csv"
    baseline.write_text("none yet\n")  # written below, once the collected features' names are known
    with ui_server(root, "--baseline", str(baseline)) as ui, chromium() as driver:
        url = ui.get("/api/v1/deployments/iris-local").json()["deployment"]["url"]
        assert url and url.startswith("http://")
        score(url, key, 20)

        # every view renders (screenshots in out/ui-screenshots)
        for view in ("graph", "registry", "deployments", "endpoints", "history", "plans"):
            open_view(driver, ui.url, view)
            screenshot(driver, f"demo-{view}")
        open_view(driver, ui.url, "graph")
        assert (
            driver.execute_script("return window.modelctlUI.cy.$id('Deployment/iris-local').data('drift')") == "in sync"
        )
        [local] = [n for n in ui.get("/api/v1/deployments").json()["items"] if n["name"] == "iris-local"]
        assert local["lastRollout"] and local["imageVersion"] == 1
        assert local["auth"] == {"mode": "key", "secretRef": "iris-keys"}

        # the registry: versions, lineage, protection, the tag's markup as text
        open_view(driver, ui.url, "registry")
        text = driver.find_element(By.ID, "view").text
        assert "iris-classifier" in text and "iris-scorer:1" in text and "delete protected (in use)" in text
        assert SCRIPT_TAG in text and driver.execute_script("return window.__pwned") is None
        registry = ui.get("/api/v1/registry").json()
        v1 = next(m for m in registry["models"] if (m["name"], m["version"]) == ("iris-classifier", 1))
        # both builds used it (the broken one too); the deployment still runs the first: rolled back
        assert v1["images"] == ["iris-scorer:2", "iris-scorer:1"] and v1["deployments"] == ["iris-local on local"]
        assert [e["version"] for e in registry["aliases"]["iris-classifier"]["latest"]] == [1]

        # the failed apply stands out in the history, with who and which commit
        open_view(driver, ui.url, "history")
        bad_rows = driver.find_elements(By.CSS_SELECTOR, "tr.stands-out")
        assert bad_rows and any("Deployment/iris-local" in r.text and "failed" in r.text for r in bad_rows)
        history = ui.get("/api/v1/history").json()["actions"]
        failed = [a for a in history if a["result"] == "failed"]
        assert (
            failed
            and all(a["standsOut"] for a in failed)
            and not any(a["standsOut"] for a in history if a["result"] == "ok")
        )
        assert {a["user"] for a in history} and all(a["commit"] for a in history)

        # a deployment's details: URL, auth mode (no value), recent logs of its container
        open_view(driver, ui.url, "deployment", "iris-local")
        text = driver.find_element(By.ID, "view").text
        assert url in text and "key (secret iris-keys)" in text and '"/score"' in text
        screenshot(driver, "demo-deployment")

        # monitoring: request-rate points from two scrapes or more, PSI bars against the baseline
        open_view(driver, ui.url, "monitoring", "iris-local")

        def points() -> int:
            score(url, key, 5)
            open_view(driver, ui.url, "monitoring", "iris-local")
            return driver.execute_script(
                "const c = window.modelctlUI.charts['rate-iris-classifier'];"
                "return c ? c.data.datasets[0].data.filter(v => v !== null).length : 0"
            )

        wait_until(points, timeout=90, interval=2, message="the request-rate chart has a data point")
        features = wait_until(
            lambda: [f["feature"] for f in ui.get("/api/v1/monitoring/iris-local").json()["drift"]["features"]],
            timeout=60,
            interval=1,
            message="the collected data reached the volume",
        )
        # a baseline that cannot be read is said, and the collected features are still shown
        assert "no numeric values" in ui.get("/api/v1/monitoring/iris-local").json()["drift"]["baselineError"]
        _write_baseline(baseline, features)
        psi = wait_until(
            lambda: (
                open_view(driver, ui.url, "monitoring", "iris-local")
                or driver.execute_script("const c = window.modelctlUI.charts.psi; return c && c.data.datasets[0].data")
            ),
            timeout=60,
            interval=2,
            message="the PSI chart has bars",
        )
        assert any(v is not None and v > 0 for v in psi), psi
        screenshot(driver, "demo-monitoring")

        # drift made for real: the container is stopped by hand; the open graph marks it at its next
        # refresh, without a reload of the page (the marker set on the window survives)
        open_view(driver, ui.url, "graph")
        driver.execute_script("window.__sameDocument = true")
        [container] = docker_client.containers.list(
            filters={"label": [f"modelctl.io/workspace={name}", "modelctl.io/resource=Deployment/iris-local"]}
        )
        container.stop(timeout=2)

        def drifted() -> bool:
            return driver.execute_script(
                "const n = window.modelctlUI.cy && window.modelctlUI.cy.$id('Deployment/iris-local');"
                "return !!n && n.data('drift') === 'by-hand' && n.hasClass('by-hand')"
            )

        wait_until(drifted, timeout=60, interval=1, message="the graph marks iris-local drifted")
        assert driver.execute_script("return window.__sameDocument") is True
        assert "DRIFTED" in driver.execute_script(
            "return window.modelctlUI.cy.$id('Deployment/iris-local').data('label')"
        )
        assert driver.find_elements(By.CSS_SELECTOR, "#graph-nodes tr.drifted")
        screenshot(driver, "demo-graph-drifted")
        driver.find_element(By.ID, "graph").screenshot(str(SCREENSHOTS / "demo-graph-element.png"))  # docs/img/

        # the plans: git against live (the stopped container), and the PR plan between two commits
        open_view(driver, ui.url, "plans")
        assert "Deployment/iris-local" in driver.find_element(By.ID, "plan-markdown").text
        driver.get(ui.url.split("#")[0] + "#/plans?base=HEAD~2&head=HEAD~1")
        pr = wait_until(lambda: driver.find_elements(By.ID, "pr-markdown"), timeout=60, message="the PR plan rendered")
        assert "### modelctl plan" in pr[0].text and "Image/iris-scorer" in pr[0].text
        assert "HEAD~2" in pr[0].text and "HEAD~1" in pr[0].text  # as `plan --base HEAD~2 --head HEAD~1` heads it
        screenshot(driver, "demo-plans")
        assert severe_console_errors(driver) == []

        # no secret value anywhere: every API response and every page
        for path in API_PATHS:
            resp = ui.get(path)
            assert resp.status_code == 200, (path, resp.text)
            assert key not in resp.text, path
        for view in ("graph", "registry", "deployments", "endpoints", "history", "plans"):
            open_view(driver, ui.url, view)
            assert key not in driver.page_source, view
            assert driver.execute_script("return window.__pwned") is None, view  # the <script> tag stayed text
        open_view(driver, ui.url, "deployment", "iris-local")
        assert key not in driver.page_source
