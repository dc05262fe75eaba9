"""A scoring container under concurrent large requests stays within its memory limit (issue 13, item 5).

The iris example's image is rendered from this checkout (so it carries this runtime) and built on the
local Docker engine, then run like the docker target runs a backend: 512Mi, read-only, /tmp on tmpfs,
restart policy unless-stopped; two uvicorn workers (the harder case: more fixed memory). Eight client
threads send ~4 MB /score bodies (under the 4 MiB body limit) at once, back to back.

Before the memory budget, this killed workers (their clients saw reset connections; behind the router
502s). Now every answer must be a 200 or a JSON 503 with Retry-After, some must succeed, and no
process may have died: not the container (State.OOMKilled, RestartCount), not a worker (the cgroup's
oom_kill count, the worker pids).

The second test takes the budget away on purpose (MODELCTL_MEMORY_BUDGET_BYTES far above what fits) so
that the kernel really OOM-kills a worker mid-request, and checks what a death leaves behind: uvicorn
replaces the worker, the in-flight and budget gauges count only live workers, and a dead writer's temp
file in the collection folder is removed by the replacement.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from testkit import wait_until

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "iris"
EXAMPLE_BASE = "modelctl/python-base:bookworm"  # what examples/iris/modelctl.yaml maps python:3.11-slim to
KEY = "memory-bound-test-key"
MEMORY = 512 * 1024 * 1024
CLIENTS, REQUESTS_EACH = 8, 3
LABEL = "modelctl.io/test"


def four_mb_body() -> bytes:
    """~4,000,000 bytes of iris rows with one decimal, as in the issue (under the 4 MiB limit)."""
    rng = random.Random(13)
    rows, size = [], 10
    while size < 4_000_000:
        row = f"[{rng.uniform(4, 8):.1f},{rng.uniform(2, 4.5):.1f},{rng.uniform(1, 7):.1f},{rng.uniform(0.1, 2.5):.1f}]"
        rows.append(row)
        size += len(row) + 1
    return ('{"data":[' + ",".join(rows) + "]}").encode()


@pytest.fixture(scope="module")
def scorer_image(docker_client, base_image, tmp_path_factory):
    """The iris example's scoring image, rendered from this checkout and built locally."""
    repo = tmp_path_factory.mktemp("iris")
    shutil.copytree(EXAMPLE, repo, dirs_exist_ok=True)
    workspace = repo / "modelctl.yaml"
    workspace.write_text(workspace.read_text().replace(EXAMPLE_BASE, base_image))
    out = tmp_path_factory.mktemp("render")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "compiler.cli.main",
            "render",
            str(repo),
            "--out",
            str(out),
            "--only",
            "Image/iris-scorer",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    context = out / "images" / "iris-scorer"
    assert (context / "modelctl_runtime" / "memory.py").is_file(), "rendered from another checkout's runtime"
    tag = f"modelctl-test/memory-bound:{uuid.uuid4().hex[:12]}"
    docker_client.images.build(path=str(context), tag=tag, rm=True, forcerm=True, labels={LABEL: "memory-bound"})
    yield tag
    docker_client.images.remove(tag, force=True)


class Scorer:
    """One container of the image, run the way the docker target runs a backend."""

    def __init__(self, docker_client, image: str, **env: str):
        self.container = docker_client.containers.run(
            image,
            detach=True,
            labels={LABEL: "memory-bound"},
            ports={"8080/tcp": ("127.0.0.1", None)},
            environment={"MODELCTL_AUTH_KEYS": KEY, "MODELCTL_WORKERS": "2", "MODELCTL_ACCESS_LOG": "0", **env},
            mem_limit=MEMORY,
            memswap_limit=MEMORY,
            nano_cpus=1_000_000_000,
            restart_policy={"Name": "unless-stopped"},
            read_only=True,
            tmpfs={"/tmp": "rw,size=64m"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
        )
        self.container.reload()
        port = self.container.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        self.url = f"http://127.0.0.1:{port}"
        self.headers = {"Authorization": f"Bearer {KEY}"}

    def wait_ready(self) -> None:
        def ready() -> bool:
            self.container.reload()
            assert self.container.status in ("created", "running"), self.logs()
            return httpx.get(self.url + "/v2/health/ready", timeout=2).status_code == 200

        wait_until(
            ready,
            timeout=180,
            interval=0.2,
            ignore=(httpx.HTTPError,),
            message=lambda last: f"the scorer is ready (last: {last!r}); logs:\n{self.logs()}",
        )

    def logs(self) -> str:
        return self.container.logs().decode(errors="replace")[-4000:]

    def exec(self, command: str) -> str:
        result = self.container.exec_run(["sh", "-c", command])
        return result.output.decode(errors="replace")

    def state(self) -> dict:
        self.container.reload()
        attrs = self.container.attrs
        return {
            "status": attrs["State"]["Status"],
            "oom_killed": attrs["State"]["OOMKilled"],
            "restarts": attrs["RestartCount"],
        }

    def oom_kills(self) -> int:
        """Processes the kernel's OOM killer ended in this container's cgroup (v2 memory.events, v1 oom_control)."""
        text = self.exec("cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null")
        m = re.search(r"^oom_kill (\d+)$", text, re.MULTILINE)
        assert m, f"no oom_kill counter in the container's cgroup: {text!r}"
        return int(m.group(1))

    def peak_memory(self) -> int | None:
        text = self.exec("cat /sys/fs/cgroup/memory.peak /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null")
        return int(text.split()[0]) if text.strip() else None

    def workers(self) -> set[int]:
        """The uvicorn worker processes' pids, as the container sees them (and its logs name them)."""
        out = self.exec(
            "for p in /proc/[0-9]*; do grep -qs '[m]ultiprocessing[.]spawn' $p/cmdline && echo ${p#/proc/}; done"
        )
        return {int(pid) for pid in out.split()}

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", headers=self.headers, timeout=10).text

    def budgets(self) -> dict[int, int]:
        """pid -> budget, from the 'memory budget' line each worker logs when it starts."""
        out = {}
        for line in self.container.logs().decode(errors="replace").splitlines():
            if '"memory budget"' in line:
                entry = json.loads(line)
                out[entry["pid"]] = entry["budgetBytes"]
        return out


@pytest.fixture
def scorers(docker_client):
    started: list[Scorer] = []

    def start(image: str, **env: str) -> Scorer:
        scorer = Scorer(docker_client, image, **env)
        started.append(scorer)
        scorer.wait_ready()
        return scorer

    yield start
    for scorer in started:
        scorer.container.remove(force=True)


def hammer(url: str, body: bytes, clients: int = CLIENTS, each: int = REQUESTS_EACH) -> list[tuple]:
    """`clients` threads, each posting `each` bodies back to back: (status or exception, headers, body)."""
    results: list[tuple] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(
            timeout=120, headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        ) as http:
            for _ in range(each):
                try:
                    r = http.post(url + "/score", content=body)
                    outcome = (r.status_code, dict(r.headers), r.content)
                except httpx.HTTPError as exc:
                    outcome = (type(exc).__name__, {}, str(exc).encode())
                with lock:
                    results.append(outcome)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    return results


def _sample(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def test_concurrent_4mb_bodies_get_200_or_503_and_nothing_dies(scorer_image, scorers):
    scorer = scorers(scorer_image)
    before = {"state": scorer.state(), "oom_kills": scorer.oom_kills(), "workers": scorer.workers()}
    assert len(before["workers"]) == 2 and before["state"]["status"] == "running"
    body = four_mb_body()
    assert 3_900_000 < len(body) < 4 * 1024 * 1024

    results = hammer(scorer.url, body)

    statuses = Counter(r[0] for r in results)
    print(
        f"\n{len(results)} requests of {len(body)} bytes: {dict(statuses)}; budgets {scorer.budgets()}; "
        f"peak memory {scorer.peak_memory()} of {MEMORY}"
    )
    assert len(results) == CLIENTS * REQUESTS_EACH
    for status, headers, content in results:
        assert status in (200, 503), f"{status}: {content[:300]!r}"
        if status == 503:  # the runtime's error shape, and a hint when to come back
            assert headers.get("retry-after") == "1" and headers["content-type"] == "application/json"
            assert "busy" in json.loads(content)["error"]
        else:
            assert len(json.loads(content)["predictions"]) == body.count(b"[") - 1
    assert statuses[200] >= 2, f"too few requests succeeded: {dict(statuses)}"
    after = {"state": scorer.state(), "oom_kills": scorer.oom_kills(), "workers": scorer.workers()}
    assert after == before, f"something died: before {before}, after {after}; logs:\n{scorer.logs()}"
    assert not after["state"]["oom_killed"]
    # in flight: only this scrape (every request's reservation came back, nothing stuck)
    text = wait_until(
        lambda: (t := scorer.metrics()) and _sample(t, "modelctl_requests_in_flight") == 1 and t,
        timeout=10,
        message="in-flight shows only this scrape",
    )
    assert _sample(text, 'modelctl_requests_rejected_total{reason="memory"}') == statuses[503]


def test_a_worker_killed_by_the_kernel_leaves_no_stuck_gauge_and_no_temp_file(scorer_image, scorers):
    collection = {"enabled": True, "sink": "file:///tmp/collected", "sampling": 0.0}
    # No effective budget (the runtime is told the limit is 64 GiB): the old behaviour, on purpose.
    scorer = scorers(
        scorer_image, MODELCTL_MEMORY_LIMIT_BYTES=str(64 << 30), MODELCTL_DATA_COLLECTION=json.dumps(collection)
    )
    workers = scorer.workers()
    stale = "/tmp/collected/iris-classifier/1/2026/01/01/00/.scoring-20260101T000000-9-0-deadbeef.jsonl.tmp"
    scorer.exec(f"mkdir -p {stale.rsplit('/', 1)[0]} && echo '{{\"half\": ' > {stale} && touch -d '1 hour ago' {stale}")
    assert scorer.exec(f"ls {stale}").strip() == stale  # what a writer killed mid-write leaves

    results = hammer(scorer.url, four_mb_body(), clients=12)  # more than enough to exceed 512Mi

    kills = scorer.oom_kills()
    print(f"\nwithout a budget: {dict(Counter(r[0] for r in results))}, {kills} OOM kill(s)")
    assert kills >= 1, "expected the kernel to kill a worker without a budget"
    assert scorer.state()["restarts"] == 0, "the OOM killer took the supervisor, not a worker"
    # uvicorn replaces the dead workers; once two ready workers run, the gauges count exactly them
    live = wait_until(
        lambda: (w := scorer.workers()) and len(w) == 2 and w != workers and w,
        timeout=120,
        message=lambda last: f"two workers run again (last: {last!r})",
    )
    scorer.wait_ready()
    budgets = wait_until(
        lambda: (b := scorer.budgets()) and live <= b.keys() and b,
        timeout=60,
        message="the replacement workers logged their budget",
    )
    text = wait_until(
        lambda: (t := scorer.metrics()) and _sample(t, "modelctl_requests_in_flight") == 1 and t,
        timeout=30,
        ignore=(httpx.HTTPError,),
        message=lambda last: f"in-flight shows only this scrape (last: {last!r})",
    )
    # the dead workers' budgets (and requests in flight) no longer count: exactly the two live ones
    assert _sample(text, "modelctl_memory_budget_bytes") == sum(budgets[pid] for pid in live)
    assert _sample(text, "modelctl_collector_queue_depth") == 0
    wait_until(
        lambda: not scorer.exec(f"ls {stale} 2>/dev/null").strip(),
        timeout=30,
        message="the replacement worker removed the dead writer's temp file",
    )
