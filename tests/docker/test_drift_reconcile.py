"""Drift and reconcile on the real engine: a container stopped or replaced by hand is reported
(exit 2) and healed by `reconcile --self-heal`; `reconcile --interval` loops and stops on SIGTERM.
The repo is a real git repo, so apply's dirty-tree check and the recorded commit are exercised too."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import time

import git

from docker_helpers import DEPLOYMENT, MODELCTL, _env


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def commit_all(repo: git.Repo, message: str) -> str:
    repo.git.add("-A")
    actor = git.Actor("ci", "ci@example.com")
    return repo.index.commit(message, author=actor, committer=actor).hexsha


def test_drift_by_hand_is_reported_and_healed(workspace):
    ws = workspace
    repo = git.Repo.init(ws.root, initial_branch="main")
    sha = commit_all(repo, "first")

    # A dirty tree is refused; committed, it applies and the history records commit, branch, clean.
    ws.write("notes.txt", "not committed")
    refused = ws.cli("apply", ".", "--auto-approve")
    assert refused.returncode == 1 and "uncommitted changes (notes.txt)" in refused.stderr, refused.stderr
    (ws.root / "notes.txt").unlink()
    first = ws.cli("apply", ".", "--auto-approve")
    assert first.returncode == 0, first.stdout + first.stderr
    with ws.session() as s:
        [row] = s.registry.history(resource="Deployment/blue")
    assert row.git_commit == sha and row.detail["gitBranch"] == "main" and row.detail["gitDirty"] is False
    assert row.detail["image"] == "scorer" and row.detail["models"] == [["iris", 1]]
    in_sync = ws.cli("drift", ".")
    assert in_sync.returncode == 0 and "No drift" in in_sync.stdout, in_sync.stdout + in_sync.stderr

    # (a) the container is stopped by hand: drift exit 2, by hand, naming it.
    [container] = ws.backends("blue")
    container.stop(timeout=2)
    found = ws.cli("drift", ".", "--format", "json")
    assert found.returncode == 2, found.stdout + found.stderr
    [item] = json.loads(found.stdout)["items"]
    assert (item["resource"], item["kind"]) == ("Deployment/blue", "by-hand")
    assert any(container.name in r and "exited" in r for r in item["reasons"]), item

    # (b) replaced by hand with one carrying another fingerprint and spec: reported with the field.
    labels = dict(container.labels)
    spec = json.loads(labels["modelctl.io/spec"])
    spec["resources"]["memory"] = "1Gi"
    labels.update({"modelctl.io/fingerprint": "0" * 64, "modelctl.io/spec": json.dumps(spec)})
    image = container.image.id
    container.remove(force=True)
    ws.docker.containers.create(image, name=container.name, labels=labels)
    found = ws.cli("drift", ".")
    assert found.returncode == 2, found.stdout + found.stderr
    assert "changed by hand since the last apply:" in found.stdout and "Deployment/blue" in found.stdout
    assert "spec.resources.memory: live 1Gi → git 512Mi" in found.stdout, found.stdout

    # reconcile --self-heal (one-shot) heals; drift is then clean and the history says so.
    healed = ws.cli("reconcile", ".", "--self-heal")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    log = events(healed.stdout)
    [applied] = [e for e in log if e["event"] == "apply"]
    assert applied["ok"] is True and applied["commit"] == sha
    assert {(r["resource"], r["result"]) for r in applied["results"]} == {("Deployment/blue", "ok")}
    assert ws.cli("drift", ".").returncode == 0
    [running] = ws.backends("blue")
    assert running.status == "running" and running.labels["modelctl.io/fingerprint"] != "0" * 64
    assert ws.score("blue", [[5.1, 3.5, 1.4, 0.2]]).status_code == 200
    hist = ws.cli("history", "Deployment/blue", "--format", "json")
    rows = json.loads(hist.stdout)
    assert len(rows) == 2 and {r["git_commit"] for r in rows} == {sha}
    assert all(r["image"] == "scorer:1" and r["models"] == ["iris@1"] for r in rows), rows

    # A committed git change not applied yet is "pending", not "by hand".
    ws.write("deployments/blue.yaml", DEPLOYMENT.format(name="blue").replace("memory: 512Mi", "memory: 640Mi"))
    commit_all(repo, "more memory")
    pending = ws.cli("drift", ".", "--format", "json")
    assert pending.returncode == 2
    assert [(i["resource"], i["kind"]) for i in json.loads(pending.stdout)["items"]] == [("Deployment/blue", "pending")]


def test_reconcile_loop_runs_cycles_and_stops_on_sigterm(workspace):
    ws = workspace
    proc = subprocess.Popen(
        [*MODELCTL, "reconcile", ".", "--interval", "1s"],
        cwd=ws.root,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[dict] = []
    try:
        deadline = time.monotonic() + 120
        while sum(e["event"] == "cycle" for e in lines) < 3 and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(json.loads(line))
        assert sum(e["event"] == "cycle" for e in lines) >= 3, (lines, proc.poll())
        # a second reconciler of the same workspace is refused while the loop holds the lease
        second = ws.cli("reconcile", ".")
        assert second.returncode == 1 and "another reconcile loop is running" in second.stderr, second.stderr
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    lines += events(out)
    drift = [e for e in lines if e["event"] == "drift"]
    assert drift and drift[0]["drift"] is True and drift[0]["summary"]["pending"] >= 3  # never applied
    assert lines[-1]["event"] == "stop" and lines[-1]["reason"] == "signal"
    assert "Traceback" not in err
