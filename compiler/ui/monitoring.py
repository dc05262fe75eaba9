"""Monitoring over time: the sources `modelctl monitor` reads (a runtime's /metrics, its collected data,
a baseline), sampled while the UI runs.

A deployment is sampled once its monitoring view was asked for, every `interval` seconds, by one
background thread; consecutive scrapes give rate, error rate and p50/p99 points (`monitor.metrics.traffic`).
The bearer credential for /metrics is made as `modelctl monitor` makes it (the key; in auth mode token a
short-lived token minted per scrape from the signing secret) and used here only: it is never returned.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..graph import DeploymentNode
from ..monitor.collected import (
    aliases,
    columns,
    feature_rows,
    load_baseline,
    match_baseline,
    parse_since,
    read_records,
)
from ..monitor.credentials import bearer_credential, token_ttl
from ..monitor.drift import feature_stats
from ..monitor.metrics import MonitorError, Snapshot, scrape, traffic
from ..names import default_keys_secret
from ..targets import TARGET_TYPES

POINTS = 120  # scrapes kept per deployment


@dataclass
class Source:
    url: str
    auth_mode: str
    secret: str | None = field(repr=False)  # a bearer key, or (mode token) the signing secret: never sent
    collected: Path | None = None

    def credential(self, interval: float) -> str | None:
        """What a scrape sends as its bearer: the key, or a token minted for this scrape (mode token)."""
        return bearer_credential(self.auth_mode, self.secret, token_ttl(interval))


@dataclass
class _Series:
    source: Source
    scrapes: deque = field(default_factory=lambda: deque(maxlen=POINTS))
    error: str | None = None


def source_of(root: Path, node: DeploymentNode, url: str | None, workspace: str) -> Source | str:
    """Where a deployment's metrics and collected data are, or why there are none."""
    from ..targets.docker.secrets import lookup

    target_type = TARGET_TYPES[node.target.type]
    if not target_type.serves_http:
        return f"{node.name} runs on a {node.target.type} target, which serves nothing reachable from here"
    if not url:
        return f"{node.name} is not deployed (no record in the registry)"
    mode = node.spec.auth.mode
    secret = (
        lookup(root, node.spec.auth.secret_ref or default_keys_secret(node.name)) if mode in ("key", "token") else None
    )
    collected = target_type.collected_data(workspace, node) if node.spec.data_collection.enabled else None
    return Source(url, mode, secret, collected)


class Sampler:
    def __init__(self, interval: float = 5.0, baseline: Path | None = None) -> None:
        self.interval, self.baseline = interval, baseline
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="modelctl-ui-sampler", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def watching(self, name: str, url: str | None) -> bool:
        known = self._series.get(name)
        return known is not None and url is not None and known.source.url == url

    def watch(self, name: str, source: Source) -> None:
        """Sample this deployment from now on (a first scrape right away)."""
        with self._lock:
            known = self._series.get(name)
            if known is not None and known.source.url == source.url:
                return
            self._series[name] = _Series(source)
        self._sample(name)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for name in list(self._series):
                self._sample(name)

    def _sample(self, name: str) -> None:
        series = self._series[name]
        try:
            snap = scrape(series.source.url, series.source.credential(self.interval))
        except MonitorError as exc:
            series.error = str(exc)
            return
        with self._lock:
            series.error = None
            series.scrapes.append(snap)

    def report(self, name: str, since: str = "1h") -> dict[str, Any]:
        series = self._series.get(name)
        if series is None:
            return {"deployment": name, "points": {}, "error": "not sampled"}
        with self._lock:
            scrapes: list[Snapshot] = list(series.scrapes)
        points: dict[str, list[dict[str, Any]]] = {}
        for before, after in zip(scrapes, scrapes[1:], strict=False):
            for t in traffic(before, after):
                points.setdefault(t.model, []).append(
                    {
                        "t": round(after.at * 1000),
                        "rate": t.rate,
                        "errorRate": _sum(t.client_error_rate, t.server_error_rate),
                        "serverErrorRate": t.server_error_rate,
                        "p50": t.p50_ms,
                        "p99": t.p99_ms,
                        "total": t.total,
                    }
                )
        return {
            "deployment": name,
            "interval": self.interval,
            "scrapes": len(scrapes),
            "points": points,
            "error": series.error,
            "drift": self._drift(series.source, since),
        }

    def _drift(self, source: Source, since: str) -> dict[str, Any]:
        if source.collected is None:
            return {"features": [], "records": 0, "error": "data collection is off (or its volume is not here)"}
        try:
            records = read_records(source.collected, parse_since(since))
            current = columns(feature_rows(records))
            base: dict[str, list[float]] | None = None
            warnings: list[str] = []
        except (MonitorError, OSError) as exc:
            return {"features": [], "records": 0, "error": str(exc)}
        baseline_error = None
        if self.baseline:  # its columns matched to the collected features as `modelctl monitor` does
            try:
                base, warnings = match_baseline(current, aliases(records), load_baseline(self.baseline))
            except (MonitorError, OSError) as exc:  # the collected features are still shown, without PSI
                baseline_error = str(exc)
        stats = feature_stats(current, base)
        return {
            "records": len(records),
            "since": since,
            "baseline": str(self.baseline) if self.baseline else None,
            "baselineWarnings": warnings,
            "baselineError": baseline_error,
            "features": [dict(s.__dict__, drift=s.drift) for s in stats],
            "error": None,
        }


def _sum(a: float | None, b: float | None) -> float | None:
    return None if a is None and b is None else (a or 0.0) + (b or 0.0)
