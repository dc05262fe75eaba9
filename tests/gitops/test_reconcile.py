"""The reconcile loop with fake steps, a fake wait and a stop event; the webhook against a local server;
git pull --ff-only against real repositories."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import git
import httpx
import pytest

from compiler.gitops.drift import DriftItem, DriftReport
from compiler.gitops.reconcile import ReconcileError, Settings, backoff, parse_duration, post_webhook, run
from compiler.plan.model import Scope
from compiler.workflow.reconcile import RepoSteps

IN_SYNC = DriftReport("team", (), ("local",))
DRIFTED = DriftReport(
    "team", (DriftItem("Deployment/blue", "update", "by-hand", ("restart: exited",), (), "local"),), ("local",)
)


class Fake:
    """Steps whose detect() results are scripted (a report, or an exception to raise)."""

    def __init__(self, *detections, heal_ok: bool = True, on_detect=None) -> None:  # noqa: ANN001
        self.detections = list(detections)
        self.heal_ok, self.on_detect = heal_ok, on_detect
        self.calls: list[str] = []

    def pull(self):  # noqa: ANN201
        self.calls.append("pull")
        return {"from": "a", "to": "b", "changed": True}

    def detect(self) -> DriftReport:
        self.calls.append("detect")
        if self.on_detect:
            self.on_detect()
        item = self.detections.pop(0) if len(self.detections) > 1 else self.detections[0]
        if isinstance(item, Exception):
            raise item
        return item

    def heal(self):  # noqa: ANN201
        self.calls.append("heal")
        return {"ok": self.heal_ok, "runId": "r1", "results": []}


def loop(steps, settings, **kw):  # noqa: ANN001, ANN201
    events, waits, sent = [], [], []
    stop = kw.pop("stop", threading.Event())

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return stop.is_set()

    code = run(settings, steps, log=events.append, notify=kw.pop("notify", sent.append), stop=stop, wait=wait, **kw)
    return code, events, waits, sent


def names(events) -> list[str]:  # noqa: ANN001
    return [e["event"] for e in events]


def test_parse_duration():
    assert parse_duration("5m") == 300 and parse_duration("1s") == 1 and parse_duration("500ms") == 0.5
    assert parse_duration("1h30m") == 5400 and parse_duration("90") == 90
    for bad in ("", "5 minutes", "0s", "-1s", "m5"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_backoff_doubles_from_the_interval_and_is_capped():
    assert [backoff(n, 10, 100) for n in range(5)] == [10, 20, 40, 80, 100]
    assert backoff(3, 600, 60) == 600  # a cap below the interval never shortens the schedule


def test_one_shot_in_sync():
    fake = Fake(IN_SYNC)
    code, events, waits, sent = loop(fake, Settings())
    assert code == 0 and names(events) == ["cycle", "drift", "stop"] and waits == [] and sent == []
    assert events[1]["drift"] is False and events[-1]["reason"] == "once"


def test_one_shot_drift_is_reported_and_notified():
    fake = Fake(DRIFTED)
    code, events, _, sent = loop(fake, Settings())
    assert code == 2 and fake.calls == ["detect"]
    assert events[1]["items"][0] == {
        "resource": "Deployment/blue",
        "target": "local",
        "kind": "by-hand",
        "action": "update",
        "reasons": ["restart: exited"],
    }
    assert [e["event"] for e in sent] == ["drift"]


def test_self_heal_applies_and_notifies_every_apply():
    fake = Fake(DRIFTED)
    code, events, _, sent = loop(fake, Settings(self_heal=True, pull=True))
    assert code == 0 and fake.calls == ["pull", "detect", "heal"]
    assert names(events) == ["cycle", "pull", "drift", "apply", "stop"]
    assert [e["event"] for e in sent] == ["drift", "apply"] and sent[1]["runId"] == "r1"


def test_a_failed_heal_is_an_error():
    code, events, _, _ = loop(Fake(DRIFTED, heal_ok=False), Settings(self_heal=True))
    assert code == 1 and "self-heal apply failed (run r1)" in events[-2]["error"]


def test_loop_runs_max_cycles_waiting_the_interval():
    fake = Fake(IN_SYNC)
    code, events, waits, _ = loop(fake, Settings(interval=30, max_cycles=3))
    assert code == 0 and names(events).count("cycle") == 3 and waits == [30, 30]
    assert events[-1] == {"event": "stop", "reason": "max-cycles", "cycles": 3}


def test_errors_back_off_exponentially_then_recover():
    fake = Fake(RuntimeError("engine down"), RuntimeError("engine down"), RuntimeError("engine down"), IN_SYNC)
    code, events, waits, _ = loop(fake, Settings(interval=10, max_cycles=5, max_backoff=60))
    assert code == 0 and waits == [20, 40, 60, 10]
    errors = [e for e in events if e["event"] == "error"]
    assert [e["consecutiveErrors"] for e in errors] == [1, 2, 3]
    assert errors[0]["error"] == "RuntimeError: engine down" and errors[0]["retryInSeconds"] == 20


def test_one_shot_error_exits_1():
    code, events, _, _ = loop(Fake(RuntimeError("boom")), Settings())
    assert code == 1 and names(events) == ["cycle", "error", "stop"]


def test_stop_during_a_cycle_finishes_the_step_and_skips_the_rest():
    stop = threading.Event()
    fake = Fake(DRIFTED, on_detect=stop.set)  # SIGTERM arrives while drift is being detected
    code, events, waits, _ = loop(fake, Settings(interval=5, self_heal=True), stop=stop)
    assert code == 0 and fake.calls == ["detect"] and waits == []
    assert events[-1] == {"event": "stop", "reason": "signal", "cycles": 1}


def test_stop_while_waiting():
    stop = threading.Event()
    fake = Fake(IN_SYNC)
    events: list = []
    calls = []

    def wait(seconds: float) -> bool:
        calls.append(seconds)
        if len(calls) == 2:
            stop.set()
        return stop.is_set()

    assert run(Settings(interval=1), fake, log=events.append, stop=stop, wait=wait) == 0
    assert names(events).count("cycle") == 2 and events[-1]["reason"] == "signal"


def test_a_webhook_failure_never_stops_reconciling():
    def broken(_event):  # noqa: ANN001, ANN202
        raise httpx.ConnectError("connection refused")

    code, events, _, _ = loop(Fake(DRIFTED), Settings(), notify=broken)
    assert code == 2 and "webhook-error" in names(events)


def test_a_lost_lock_stops_the_loop():
    code, events, _, _ = loop(Fake(IN_SYNC), Settings(interval=1), lost=lambda: True)
    assert code == 1 and names(events) == ["error", "stop"]


# --- the webhook, against a tiny server on 127.0.0.1 --------------------------------------------


@pytest.fixture
def hook_server():
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(204 if self.path == "/ok" else 500)
            self.end_headers()

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_webhook_posts_json(hook_server):
    url, received = hook_server
    post_webhook(url + "/ok", {"event": "drift", "cycle": 1})
    assert received == [("/ok", "application/json", {"event": "drift", "cycle": 1})]
    with pytest.raises(httpx.HTTPStatusError):
        post_webhook(url + "/fail", {"event": "apply"})


def test_loop_sends_drift_and_apply_to_the_webhook(hook_server):
    url, received = hook_server
    events: list = []
    run(Settings(self_heal=True), Fake(DRIFTED), log=events.append, notify=lambda e: post_webhook(url + "/ok", e))
    assert [body["event"] for _, _, body in received] == ["drift", "apply"]
    assert received[0][2]["items"][0]["resource"] == "Deployment/blue"


# --- git pull --ff-only --------------------------------------------------------------------------


def _commit(repo: git.Repo, name: str, text: str) -> str:
    path = f"{repo.working_tree_dir}/{name}"
    with open(path, "w") as f:
        f.write(text)
    repo.index.add([name])
    return repo.index.commit(
        f"write {name}", author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com")
    ).hexsha


def test_pull_fast_forwards_and_refuses_divergence(tmp_path):
    origin = git.Repo.init(tmp_path / "origin.git", bare=True, initial_branch="main")
    upstream = git.Repo.clone_from(origin.git_dir, tmp_path / "upstream")
    upstream.git.checkout("-b", "main")
    first = _commit(upstream, "a.txt", "1")
    upstream.git.push("origin", "main")
    checkout = git.Repo.clone_from(origin.git_dir, tmp_path / "checkout", branch="main")
    second = _commit(upstream, "a.txt", "2")
    upstream.git.push("origin", "main")

    steps = RepoSteps(tmp_path / "checkout", Scope())
    assert steps.pull() == {"from": first, "to": second, "changed": True}
    assert steps.pull()["changed"] is False

    _commit(upstream, "b.txt", "upstream")
    upstream.git.push("origin", "main")
    _commit(checkout, "c.txt", "local")  # diverged: not a fast-forward
    with pytest.raises(ReconcileError, match="git pull --ff-only failed"):
        steps.pull()
    with pytest.raises(ReconcileError, match="not inside a git checkout"):
        RepoSteps(tmp_path / "nowhere-in-git", Scope()).pull()
