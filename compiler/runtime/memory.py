"""Admission control: a per-worker budget for the memory that requests in flight may take.

A JSON body costs far more memory than its size once parsed: orjson builds a Python object per value
(a 4 MB `/score` body of 4-float rows took 17-20x its size in peak RSS of a fresh worker through parse,
numpy, predict and response, 18x of it in the parse; `/infer` with the same rows 18x; the binary
tensor extension about 4x; pathological bodies such as `[[1],[1],...]` up to 31x for the parse alone). Without a bound, a few concurrent large
requests take a worker past the container's memory limit and the kernel's OOM killer ends it, with
every request it was serving.

So each worker holds a budget of bytes. A request reserves its estimated cost before its body is
read (from Content-Length, or chunk by chunk while streaming) and releases it when it is answered.
A request that does not fit now gets a JSON 503 with `Retry-After`; one that could never fit, even in
an idle worker, gets a 413. Records queued for data collection keep the parsed inputs alive after the
response: they hold on to (part of) their request's reservation until the writer has written them,
up to a quarter of the budget, beyond which they are dropped (never the request).

The budget comes from the container's memory limit (cgroup v2 `memory.max`, v1
`memory.limit_in_bytes`, else the machine's memory), minus headroom, the supervisor process and every
worker's own resident memory after its models loaded, shared by the workers; or from
MODELCTL_MEMORY_BUDGET_BYTES.

Only the event-loop thread reserves and releases; the collection writer thread only adds to its own
counter of bytes written (`CollectionQueue.released_bytes`), so no lock is needed.
"""

from __future__ import annotations

from pathlib import Path

MiB = 1024 * 1024

# Estimated peak memory per body byte (measured, see the module docstring and docs/runtime.md).
JSON_BYTE_COST = 24  # measured up to 19.7x for numeric rows (tests/runtime/test_runtime_memory.py)
BINARY_BYTE_COST = 4  # binary tensor data (Inference-Header-Content-Length): read in place, measured 3.8x
CUSTOM_FACTOR = 2  # custom scripts parse the body again (run(raw) gets the text)
COLLECTION_SHARE = 4  # queued collection records may hold at most budget / COLLECTION_SHARE

HEADROOM_FRACTION = 0.10  # of the limit: allocator slack, estimate error, page cache
MIN_HEADROOM = 32 * MiB
SUPERVISOR_BYTES = 32 * MiB  # uvicorn's parent + multiprocessing's resource tracker (workers > 1; measured 24)
RETRY_AFTER_SECONDS = 1

_UNLIMITED = 1 << 60  # cgroup v1 reports "no limit" as a huge number (9223372036854771712)


def memory_limit(root: Path = Path("/sys/fs/cgroup"), meminfo: Path = Path("/proc/meminfo")) -> tuple[int, str]:
    """(bytes, where it came from): the cgroup's memory limit, capped by the machine's memory."""
    total = _meminfo_total(meminfo)
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            raw = path.read_text().strip()
        except OSError:
            continue
        if raw == "max":
            break
        try:
            value = int(raw)
        except ValueError:
            continue
        if 0 < value < _UNLIMITED and (total is None or value < total):
            return value, str(path)
        break
    if total is not None:
        return total, str(meminfo)
    return _UNLIMITED, "unknown"


def _meminfo_total(meminfo: Path) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def process_memory(status: Path = Path("/proc/self/status")) -> dict[str, int]:
    """This process's resident memory in bytes: RssAnon (its own), RssFile + RssShmem (shareable)."""
    out = {"RssAnon": 0, "RssFile": 0, "RssShmem": 0}
    try:
        for line in status.read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in out:
                out[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return out


def derive_budget(limit: int, workers: int, anon: int, shared: int) -> int:
    """Per-worker budget: what is left of `limit` after headroom, the supervisor and every worker's
    own resident memory (`anon` each; library pages, `shared`, counted once), shared by the workers.
    May be <= 0 when the workers alone do not fit."""
    headroom = max(MIN_HEADROOM, int(limit * HEADROOM_FRACTION))
    fixed = headroom + workers * anon + shared + (SUPERVISOR_BYTES if workers > 1 else 0)
    return (limit - fixed) // workers


class Ticket:
    """One request's reservation and its cost per body byte."""

    __slots__ = ("cost", "json_factor", "binary_factor")

    def __init__(self, custom: bool = False):
        scale = CUSTOM_FACTOR if custom else 1
        self.cost = 0  # bytes reserved by this request, not yet released
        self.json_factor = JSON_BYTE_COST * scale
        self.binary_factor = BINARY_BYTE_COST * scale

    def estimate(self, json_bytes: int, binary_bytes: int = 0) -> int:
        return json_bytes * self.json_factor + binary_bytes * self.binary_factor


class Admission:
    """The worker's ledger: bytes reserved by requests in flight, plus what queued records hold."""

    def __init__(self, budget: int, queue=None):
        self.queue = queue  # CollectionQueue or None: its held_bytes() count against the budget
        self.reserved = 0
        self.budget = 0
        self.set_budget(budget)

    def set_budget(self, budget: int) -> None:
        self.budget = max(0, budget)
        if self.queue is not None:
            self.queue.max_held_bytes = self.budget // COLLECTION_SHARE

    def try_reserve(self, ticket: Ticket, cost: int) -> bool:
        """Reserve `cost` more bytes for this request if they fit in what is left of the budget now."""
        queue = self.queue
        if self.reserved + cost + (queue.held_bytes() if queue is not None else 0) > self.budget:
            return False
        self.reserved += cost
        ticket.cost += cost
        return True

    def release(self, ticket: Ticket) -> None:
        """The request is answered (or its scoring thread finished): give its reservation back."""
        self.reserved -= ticket.cost
        ticket.cost = 0

    def free(self) -> int:
        queue = self.queue
        return max(0, self.budget - self.reserved - (queue.held_bytes() if queue is not None else 0))

    def max_json_body(self) -> int:
        """The largest JSON body an idle worker accepts for a built-in model."""
        return self.budget // JSON_BYTE_COST


def budget_for(settings, anon: int | None = None, shared: int | None = None) -> tuple[int, dict]:
    """This worker's budget from the settings (explicit, or derived now from this process's memory)."""
    if settings.memory_budget_bytes is not None:
        return settings.memory_budget_bytes, {"source": "MODELCTL_MEMORY_BUDGET_BYTES"}
    mem = process_memory()
    anon = mem["RssAnon"] if anon is None else anon
    shared = mem["RssFile"] + mem["RssShmem"] if shared is None else shared
    limit = settings.memory_limit_bytes
    budget = derive_budget(limit, settings.workers, anon, shared)
    return budget, {
        "source": settings.memory_limit_source,
        "limitBytes": limit,
        "workers": settings.workers,
        "workerAnonBytes": anon,
        "sharedBytes": shared,
    }
