"""Scrape a runtime's /metrics and turn two scrapes into rates, error rates and latency percentiles."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import httpx
from prometheus_client.parser import text_string_to_metric_families


class MonitorError(Exception):
    """A user-facing problem (unreachable server, bad input file); shown as a message, not a traceback."""


@dataclass
class Snapshot:
    at: float
    requests: dict = field(default_factory=dict)  # (model, status) -> count
    buckets: dict = field(default_factory=dict)  # model -> {le: cumulative count}
    gauges: dict = field(default_factory=dict)  # name -> value (summed over labels)
    counters: dict = field(default_factory=dict)  # (name, label value) -> value


def parse(text: str, at: float | None = None) -> Snapshot:
    snap = Snapshot(at=time.time() if at is None else at)
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            model = s.labels.get("model") or "-"
            if s.name == "modelctl_requests_total":
                key = (model, s.labels.get("status", ""))
                snap.requests[key] = snap.requests.get(key, 0.0) + s.value
            elif s.name == "modelctl_request_duration_seconds_bucket":
                le = float(s.labels["le"])
                per = snap.buckets.setdefault(model, {})
                per[le] = per.get(le, 0.0) + s.value
            elif family.type == "gauge":
                snap.gauges[s.name] = snap.gauges.get(s.name, 0.0) + s.value
            elif s.name.endswith("_total"):
                label = s.labels.get("reason") or s.labels.get("collection") or ""
                snap.counters[(s.name, label)] = snap.counters.get((s.name, label), 0.0) + s.value
    return snap


def scrape(url: str, key: str | None = None, verify=True) -> Snapshot:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        r = httpx.get(url.rstrip("/") + "/metrics", headers=headers, timeout=10, verify=verify)
    except httpx.HTTPError as exc:
        raise MonitorError(f"cannot reach {url}: {exc}") from None
    if r.status_code == 401:
        raise MonitorError(
            f"{url} refused the scrape (401): pass --key-file (or MODELCTL_KEY), or --token-secret-file in auth mode token"
        )
    if r.status_code != 200:
        raise MonitorError(f"{url}/metrics answered HTTP {r.status_code}")
    return parse(r.text)


def quantile(q: float, buckets: dict) -> float | None:
    """histogram_quantile(): linear interpolation inside the bucket holding the q-th observation."""
    bounds = sorted(buckets)
    total = buckets.get(math.inf, buckets[bounds[-1]] if bounds else 0.0)
    if not bounds or total <= 0:
        return None
    rank, prev_bound, prev_count = q * total, 0.0, 0.0
    for b in bounds:
        count = buckets[b]
        if count >= rank:
            if math.isinf(b):
                return prev_bound
            width = count - prev_count
            return prev_bound + (b - prev_bound) * ((rank - prev_count) / width if width else 0.0)
        prev_bound, prev_count = b, count
    return prev_bound


@dataclass
class ModelTraffic:
    model: str
    total: float
    rate: float | None
    client_error_rate: float | None
    server_error_rate: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None


def traffic(before: Snapshot | None, after: Snapshot) -> list[ModelTraffic]:
    """Per model: lifetime total, and over the window between the scrapes: rate, errors, percentiles.

    With one scrape only, rates are omitted and percentiles cover the server's lifetime.
    """
    models = sorted({m for m, _ in after.requests if m not in ("", "-")})
    rows = []
    for m in models:

        def count(snap, pred, m=m):
            return sum(v for (mm, st), v in snap.requests.items() if mm == m and pred(st)) if snap else 0.0

        total = count(after, lambda s: True)
        window = total - count(before, lambda s: True) if before else total
        client = count(after, lambda s: s.startswith("4")) - count(before, lambda s: s.startswith("4"))
        server = count(after, lambda s: s.startswith("5")) - count(before, lambda s: s.startswith("5"))
        b_after = after.buckets.get(m, {})
        b_before = before.buckets.get(m, {}) if before else {}
        delta = {le: v - b_before.get(le, 0.0) for le, v in b_after.items()}
        if not any(delta.values()):
            delta = b_after
        seconds = after.at - before.at if before else None
        q = {p: quantile(p, delta) for p in (0.5, 0.9, 0.99)}
        rows.append(
            ModelTraffic(
                model=m,
                total=total,
                rate=(window / seconds) if seconds else None,
                client_error_rate=(client / window) if window else None,
                server_error_rate=(server / window) if window else None,
                **{f"p{int(p * 100)}_ms": (v * 1000 if v is not None else None) for p, v in q.items()},
            )
        )
    return rows
