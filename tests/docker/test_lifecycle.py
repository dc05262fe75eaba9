"""End to end on the real engine and registry: create, no-op, model change with a blue/green swap
under load, a broken image rolled back, prune, and a stale saved plan refused. Applies go through the
real apply_repo / apply_saved (docker_helpers)."""

from __future__ import annotations

import json
import re

import pytest
from testkit import changes, wait_until

from compiler.plan import StalePlan

from docker_helpers import DEPLOYMENT, EXAMPLE, Hammer, Recorder

BROKEN_SCRIPT = (
    "def init():\n    raise RuntimeError('model store unreachable (on purpose)')\n\n\ndef run(data):\n    return data\n"
)
BROKEN_MODEL = """\
apiVersion: modelctl.io/v1
kind: Model
metadata: {name: broken}
spec: {framework: custom, path: artifacts/broken.txt}
"""


def _monitor(ws, name: str, done, what: str) -> dict:  # noqa: ANN001
    """`modelctl monitor NAME --json`, retried until `done(report)`: the collector writes in batches."""
    last: list[dict] = []

    def report() -> list[dict]:
        cli = ws.cli("monitor", name, "--repo", ".", "--interval", "0", "--json")
        assert cli.returncode == 0, cli.stdout + cli.stderr
        last[:] = [json.loads(cli.stdout)]
        return last if done(last[0]) else []

    [found] = wait_until(
        report, timeout=30, interval=1, message=lambda _: f"monitor {name} reports {what}; its last report: {last}"
    )
    return found


def test_full_lifecycle(workspace):
    ws = workspace
    ws.write(
        "deployments/green.yaml",
        DEPLOYMENT.format(name="green").replace("  auth:", "  dataCollection: {enabled: true, sampling: 1.0}\n  auth:"),
    )

    # 1. First apply creates everything; the service answers with the generated key.
    with Recorder(ws.root) as first:
        plan, outcome = ws.apply()
    assert changes(plan) == {
        "Model/iris": "create",
        "Image/scorer": "create",
        "Deployment/blue": "create",
        "Deployment/green": "create",
    }
    assert outcome.ok, [r.message for r in outcome.results]
    # The recorder sees apply's writes on every channel (step 2 relies on it seeing them).
    wrote = first.writes()
    assert {
        "register_model",
        "register_image",
        "record_deployment",
        "record_action",
        "acquire_lock",
        "release_lock",
    } <= set(wrote.get("registry", [])), wrote
    assert {"POST /build", "POST /containers/create"} <= set(wrote.get("engine", [])), wrote
    assert any(w.startswith("POST /images/") and w.endswith("/push") for w in wrote["engine"]), wrote
    assert any(s.startswith("INSERT ") for s in wrote.get("sql", [])), wrote
    assert any(f.startswith("added .modelctl/artifacts/blobs/") for f in wrote.get("files", [])), wrote  # the model
    resp = ws.score("blue", [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]])
    assert resp.status_code == 200 and resp.json()["predictions"] == [0, 2]
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200
    import httpx

    assert httpx.post(ws.url("blue") + "/score", json={"data": [[1, 2, 3, 4]]}).status_code == 401
    blue = ws.backends("blue")
    assert len(blue) == 1 and blue[0].attrs["Config"]["User"] == "10001:10001"
    assert blue[0].attrs["HostConfig"]["NanoCpus"] == 1_000_000_000
    assert blue[0].attrs["HostConfig"]["Memory"] == 512 * 1024 * 1024
    assert ws.key() not in json.dumps(blue[0].attrs)  # the key is a mounted file, never env or label

    # 1b. monitor finds a deployment by name: its URL, key and collected-data volume.
    for _ in range(3):
        assert ws.score("green", [[6.7, 3.0, 5.2, 2.3]]).status_code == 200
    report = _monitor(ws, "green", lambda r: r.get("collected", {}).get("records", 0) >= 3, "3 collected records")
    assert [t["total"] for t in report["traffic"] if t["model"] == "iris"] == [3.0]
    assert report["collected"]["records"] == 3 and report["collected"]["models"] == ["iris:1"]
    assert "collected" not in _monitor(ws, "blue", lambda r: True, "anything")  # blue collects nothing

    # 2. Re-plan: no changes (CLI exit 0 with --detailed-exitcode); a second apply writes nothing: not
    #    to the engine, the OCI registry, the model registry or its database, nor a file of the repo.
    cli = ws.cli("plan", ".", "--detailed-exitcode")
    assert cli.returncode == 0 and "No changes." in cli.stdout, cli.stdout + cli.stderr
    ids = sorted(c.id for c in ws.backends())
    with Recorder(ws.root) as second:
        plan, outcome = ws.apply()
    assert second.writes() == {}, second.writes()
    assert not plan.has_changes and outcome is None
    # ...while it did read live state through the very same recorder: it is in apply's path.
    read = second.reads()
    assert "GET /containers/json" in read.get("engine", []), read
    assert "list_deployments" in read.get("registry", []) and read.get("sql"), read
    assert any(r.startswith("HEAD ") and "/manifests/" in r for r in read.get("http", [])), read
    assert sorted(c.id for c in ws.backends()) == ids

    # 3. A model change plans "rebuild image, update deployments" and nothing else; blue/green under load.
    ws.write("artifacts/model.joblib", (EXAMPLE / "artifacts/iris-forest.joblib").read_bytes())
    plan = ws.plan()
    assert changes(plan) == {
        "Model/iris": "update",
        "Image/scorer": "update",
        "Deployment/blue": "update",
        "Deployment/green": "update",
    }
    assert plan.action("Model/iris").reasons == ("register: model iris 1 → 2",)
    assert plan.action("Image/scorer").reasons == ("rebuild: model iris 1 → 2",)
    assert "roll out: image scorer changed" in plan.action("Deployment/blue").reasons[0]
    cli = ws.cli("plan", ".", "--detailed-exitcode")
    assert cli.returncode == 2, cli.stdout + cli.stderr
    url = ws.url("blue")
    with Hammer(url, ws.key()) as hammer:
        plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert len(hammer.statuses) > 50
    assert set(hammer.statuses) == {200}, {s: hammer.statuses.count(s) for s in set(hammer.statuses)}
    assert ws.url("blue") == url  # the stable URL survived the swap
    [new_blue] = ws.backends("blue")
    assert new_blue.id not in ids
    image_result = next(r for r in outcome.results if r.resource == "Image/scorer")
    assert image_result.detail["cachedSteps"] >= 3  # dependencies came from the layer cache

    # 4. A broken image fails its health gate: rolled back, the old container keeps answering.
    ws.write("models/broken.yaml", BROKEN_MODEL)
    ws.write("artifacts/broken.txt", "nothing")
    ws.write("score/broken.py", BROKEN_SCRIPT)
    ws.write(
        "images/scorer.yaml",
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris, broken], environment: curated/sklearn, scoring: {script: score/broken.py}}\n",
    )
    plan, outcome = ws.apply()
    failed = {r.resource: r.message for r in outcome.results if r.result == "failed"}
    assert set(failed) == {"Deployment/blue", "Deployment/green"}
    assert "failed its health gate" in failed["Deployment/blue"]
    assert "/v2/health/ready answered HTTP 503" in failed["Deployment/blue"]
    assert "model store unreachable" in failed["Deployment/blue"]  # the container's last log lines
    assert [c.id for c in ws.backends("blue")] == [new_blue.id]
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200
    with ws.session() as s:
        history = s.registry.history(resource="Deployment/blue", limit=10)
    assert history[0].result == "failed" and history[0].user

    # 5. Removing a deployment from git deletes its container (prune) — and nothing else.
    ws.remove("models/broken.yaml")
    ws.write(
        "images/scorer.yaml",
        "apiVersion: modelctl.io/v1\nkind: Image\nmetadata: {name: scorer}\n"
        "spec: {models: [iris], environment: curated/sklearn}\n",
    )
    ws.remove("deployments/green.yaml")
    plan = ws.plan()
    assert plan.action("Deployment/green").action == "delete"
    # git is back at the image that serves: its registered version is reused, nothing rebuilds or rolls
    assert plan.action("Image/scorer").action == "no-op"
    assert plan.action("Deployment/blue").action == "no-op"
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    assert ws.backends("green") == []
    with ws.session() as s:
        assert [d.name for d in s.registry.list_deployments()] == ["blue"]
    assert not ws.plan().has_changes


def test_stale_saved_plan_is_refused(workspace):
    ws = workspace
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue").replace("memory: 512Mi", "memory: 640Mi"))
    saved = ws.cli("plan", ".", "--out", "plan.json")
    assert saved.returncode == 0, saved.stderr
    doc = json.loads((ws.root / "plan.json").read_text())
    changed = changes(doc)
    assert "Deployment/blue" in changed and "Model/iris" not in changed
    # live state moves: someone stops the container
    ws.backends("blue")[0].stop(timeout=2)
    refused = ws.cli("apply", "plan.json", "--auto-approve")
    assert refused.returncode == 1
    assert "stale" in refused.stderr and "Traceback" not in refused.stderr
    # a fresh saved plan repairs it, and applying exactly that plan works
    again = ws.cli("plan", ".", "--out", "fresh.json")
    assert again.returncode == 0, again.stderr
    fresh = ws.cli("apply", "fresh.json", "--auto-approve")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    [blue] = ws.backends("blue")
    assert blue.attrs["HostConfig"]["Memory"] == 640 * 1024 * 1024
    again = ws.cli("plan", ".", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout


def test_saved_plan_is_applied_exactly_or_refused_when_stale(workspace):
    """apply_saved, in-process: a plan saved before live state or the repo moved is refused without
    a change (at most the lock is taken and given back); a fresh one is applied exactly."""
    ws = workspace
    plan, outcome = ws.apply()
    assert outcome.ok, [r.message for r in outcome.results]
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue").replace("memory: 512Mi", "memory: 640Mi"))
    saved = ws.save_plan(ws.root / "saved.json")
    assert changes(saved) == {"Deployment/blue": "update"}

    # Live state moves (the container is stopped by hand): the saved plan is refused, nothing changes.
    [blue] = ws.backends("blue")
    blue.stop(timeout=2)
    with Recorder(ws.root) as refused, pytest.raises(StalePlan, match="live state changed"):
        ws.apply_saved(ws.root / "saved.json")
    _assert_only_the_lock_was_written(refused)
    [still] = ws.backends("blue")
    assert still.id == blue.id and still.status == "exited"

    # The repo moves after a fresh plan (saved by the CLI this time): refused too.
    cli = ws.cli("plan", ".", "--out", "fresh.json")
    assert cli.returncode == 0, cli.stdout + cli.stderr
    doc = json.loads((ws.root / "fresh.json").read_text())
    assert set(changes(doc)) == {"Deployment/blue"}
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue").replace("memory: 512Mi", "memory: 768Mi"))
    with Recorder(ws.root) as moved, pytest.raises(StalePlan, match="Deployment/blue changed in the repo"):
        ws.apply_saved(ws.root / "fresh.json")
    _assert_only_the_lock_was_written(moved)

    # Back to the repo the plan was made from: applied, exactly that plan.
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue").replace("memory: 512Mi", "memory: 640Mi"))
    plan, outcome = ws.apply_saved(ws.root / "fresh.json")
    assert outcome.ok, [r.message for r in outcome.results]
    assert changes(plan) == changes(doc) and plan.live_fingerprint == doc["liveStateFingerprint"]
    assert sorted(r.resource for r in outcome.results) == sorted(changes(doc))
    [blue] = ws.backends("blue")
    assert blue.status == "running" and blue.attrs["HostConfig"]["Memory"] == 640 * 1024 * 1024
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200
    assert not ws.plan().has_changes


def _assert_only_the_lock_was_written(seen: Recorder) -> None:
    """A refused apply leaves everything as it was: no engine, HTTP or file write; in the registry at
    most the apply lock, taken and released."""
    wrote = seen.writes()
    assert set(wrote) <= {"registry", "sql"}, wrote
    assert set(wrote.get("registry", [])) <= {"acquire_lock", "renew_lock", "release_lock"}, wrote
    assert all(re.search(r"\blocks\b", statement) for statement in wrote.get("sql", [])), wrote
