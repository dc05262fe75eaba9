"""After a worker dies without cleaning up (OOM kill, SIGKILL): its live gauges stop counting and the
temp files it was writing are removed, while live writers' files (even in other containers sharing
the volume) are left alone. Real processes, real SIGKILLs, real prometheus_client multiprocess files."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from testkit import wait_until

from compiler.runtime.sinks import FileSink, encode_record

from runtime_support import KEY

REPO = Path(__file__).resolve().parents[2]

VICTIM = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, sys.argv[1])
    from compiler.runtime.metrics import Metrics
    m = Metrics()
    m.queue_depth.set(7)
    m.in_flight.inc()
    m.memory_budget.set(100)
    m.observe("iris", "score", 200, 0.01)
    os.kill(os.getpid(), signal.SIGKILL)  # no close(), like the OOM killer
""")

SURVIVOR = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[1])
    take = sys.argv[2] if len(sys.argv) > 2 else ""
    if take:  # this process reuses a dead one's pid: its live gauge files carry our pid now
        folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
        for name in os.listdir(folder):
            if name.startswith("gauge_live") and name.endswith(f"_{take}.db"):
                os.rename(os.path.join(folder, name), os.path.join(folder, name.replace(take, str(os.getpid()))))
    from compiler.runtime.metrics import Metrics
    m = Metrics()
    m.queue_depth.set(2)
    m.memory_budget.set(10)
    print("ready", flush=True)
    sys.stdin.readline()
    sys.stdout.write(m.render().decode())
    sys.stdout.flush()
    os._exit(0)
""")


def _sample(text: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    return sum(values)


def _run(tmp_path: Path, name: str, script: str, *args: str, **popen):
    path = tmp_path / f"{name}.py"
    path.write_text(script)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    return subprocess.Popen([sys.executable, str(path), str(REPO), *args], env=env, text=True, **popen)


def test_a_killed_workers_live_gauges_stop_counting_and_its_counters_stay(tmp_path):
    (tmp_path / "metrics").mkdir()
    survivor = _run(tmp_path, "survivor", SURVIVOR, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert survivor.stdout.readline().strip() == "ready"
    victim = _run(tmp_path, "victim", VICTIM)
    assert victim.wait(60) == -signal.SIGKILL
    assert any(
        name.endswith(f"_{victim.pid}.db") and name.startswith("gauge_live")
        for name in os.listdir(tmp_path / "metrics")
    )  # what the dead worker left behind
    text, _ = survivor.communicate("render\n", timeout=60)
    assert _sample(text, "modelctl_collector_queue_depth") == 2  # not 9: the dead worker's 7 is gone
    assert _sample(text, "modelctl_requests_in_flight") == 0
    assert _sample(text, "modelctl_memory_budget_bytes") == 10
    assert 'modelctl_requests_total{endpoint="score",model="iris",status="200"} 1.0' in text  # history stays
    assert not any(
        name.endswith(f"_{victim.pid}.db") and name.startswith("gauge_live")
        for name in os.listdir(tmp_path / "metrics")
    )


def test_a_worker_with_a_dead_workers_pid_starts_its_live_gauges_from_zero(tmp_path):
    (tmp_path / "metrics").mkdir()
    victim = _run(tmp_path, "victim", VICTIM)
    assert victim.wait(60) == -signal.SIGKILL
    survivor = _run(tmp_path, "survivor", SURVIVOR, str(victim.pid), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert survivor.stdout.readline().strip() == "ready"
    text, _ = survivor.communicate("render\n", timeout=60)
    assert _sample(text, "modelctl_collector_queue_depth") == 2
    assert _sample(text, "modelctl_requests_in_flight") == 0


# ---- temp files of the file sink ---------------------------------------------------------------------

KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, sys.argv[1])
    from pathlib import Path
    from compiler.runtime.sinks import FileSink, encode_record
    os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # die between write and rename
    FileSink(Path(sys.argv[2])).write({("m", "1", int(time.time()) // 3600, "scoring"): [encode_record({"n": 1})]})
""")

LIVE_WRITER = textwrap.dedent("""
    import fcntl, os, sys
    path = sys.argv[2]
    f = open(path, "xb")
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # as FileSink.write holds it until its rename
    print("locked", flush=True)
    sys.stdin.readline()
""")


def test_sweep_removes_dead_writers_temp_files_and_leaves_live_ones(tmp_path):
    root = tmp_path / "collected"
    killed = _run(tmp_path, "killed_writer", KILLED_WRITER, str(root))
    assert killed.wait(60) == -signal.SIGKILL
    (dead,) = list(root.rglob(".*.tmp"))
    live_path = dead.parent / ".scoring-live-writer.jsonl.tmp"  # e.g. another container on the same volume
    live = _run(tmp_path, "live_writer", LIVE_WRITER, str(live_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert live.stdout.readline().strip() == "locked"
        young = dead.parent / ".scoring-just-created.jsonl.tmp"  # not locked yet, but only just created
        young.write_bytes(b"")
        hour_ago = time.time() - 3600
        for path in (dead, live_path):
            os.utime(path, (hour_ago, hour_ago))
        sink = FileSink(root)
        assert sink.sweep(started=time.time()) == 1
        assert not dead.exists() and live_path.exists() and young.exists()
        assert sink.sweep(started=hour_ago - 1) == 0  # files newer than this process's start stay
    finally:
        live.communicate("done\n", timeout=60)
    # what the sink itself writes is never left locked: a finished batch is swept by nobody
    sink.write({("m", "1", int(time.time()) // 3600, "scoring"): [encode_record({"n": 2})]})
    assert [p.name for p in root.rglob("*.jsonl")] and len(list(root.rglob(".*.tmp"))) == 2


def test_a_file_sink_writer_holds_its_lock_until_the_rename(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        with open(src, "rb") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append("unlocked")
            except OSError:
                seen.append("locked")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    FileSink(tmp_path).write({("m", "1", int(time.time()) // 3600, "scoring"): [encode_record({"n": 1})]})
    assert seen == ["locked"]


def test_a_starting_server_removes_stale_temp_files_and_still_collects(start_server, tmp_path, auth_headers):
    root = tmp_path / "collected"
    stale = root / "iris-sk" / "1" / "2026" / "01" / "01" / "00" / ".scoring-20260101T000000-7-0-abcd1234.jsonl.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b'{"half": ')
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    collection = {"enabled": True, "sink": f"file://{root}", "flushSeconds": 0.2}
    server = start_server(MODELCTL_DATA_COLLECTION=json.dumps(collection))
    r = httpx.post(server.url + "/score?model=iris-sk", json={"data": [[5.1, 3.5, 1.4, 0.2]]}, headers=auth_headers)
    assert r.status_code == 200
    wait_until(lambda: not stale.exists(), timeout=20, message="the stale temp file is removed")
    wait_until(lambda: list(root.rglob("scoring-*.jsonl")), timeout=20, message="the scored record is written")
    assert "removed temp files of dead writers" in server.output()


# ---- a real server: a worker killed, the gauges of the live ones ---------------------------------------


def _workers(server_pid: int) -> set[int]:
    """The uvicorn worker processes of a server (children of its supervisor)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if (
                int(stat.rpartition(")")[2].split()[1]) == server_pid
                and b"multiprocessing.spawn" in (entry / "cmdline").read_bytes()
            ):
                found.add(int(entry.name))
    return found


def _budgets(output: str) -> dict[int, int]:
    budgets = {}
    for line in output.splitlines():
        if '"memory budget"' in line:
            entry = json.loads(line)
            budgets[entry["pid"]] = entry["budgetBytes"]
    return budgets


def test_after_a_worker_is_killed_the_live_gauges_count_only_live_workers(start_server):
    server = start_server(MODELCTL_WORKERS="2", MODELCTL_MEMORY_LIMIT_BYTES=str(4 << 30))
    workers = wait_until(
        lambda: _workers(server.proc.pid) if len(_budgets(server.output())) == 2 else None,
        timeout=30,
        message="both workers logged their memory budget",
    )
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_until(
        lambda: (
            (w := _workers(server.proc.pid))
            and victim not in w
            and len(w) == 2
            and len(_budgets(server.output()).keys() & w) == 2
            and w
        ),
        timeout=60,
        message="uvicorn replaced the killed worker and the new one is ready",
    )
    budgets = _budgets(server.output())
    headers = {"Authorization": f"Bearer {KEY}"}

    def scraped() -> str:
        return httpx.get(server.url + "/metrics", headers=headers, timeout=5).text

    text = wait_until(lambda: (t := scraped()) and _sample(t, "modelctl_memory_budget_bytes") > 0 and t, timeout=10)
    assert _sample(text, "modelctl_memory_budget_bytes") == sum(budgets[pid] for pid in replaced)
    assert _sample(text, "modelctl_requests_in_flight") == 1  # this scrape, nothing stuck from the dead worker
