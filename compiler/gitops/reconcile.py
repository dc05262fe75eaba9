"""The reconcile loop: (pull) → detect drift → report → (self-heal), once or every interval.

The loop is plain logic over injected steps, a wait function and a stop event, so it is tested
with fakes; `RepoSteps` are the real steps (git pull --ff-only, a drift check, the shared apply).
Every event is one JSON object handed to `log` (cycle, pull, drift, skip, apply, error, stop); drift
and every apply are also sent to `notify` (the webhook). Errors back off exponentially (capped);
`stop` (set by SIGTERM) ends the loop after the current step. With self-heal, a deployment held by
a rollback (drift kind "rolled-back") is logged as `skip` and never healed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable, Protocol

from .drift import DriftReport, to_json

Event = dict[str, Any]
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ReconcileError(Exception):
    """A step failed in a way worth a clear one-line message (the loop backs off and retries)."""


def parse_duration(text: str) -> float:
    """'5m', '1s', '500ms', '1h30m', or plain seconds ('90') → seconds (> 0)."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
    elif text and re.fullmatch(f"(?:{DURATION.pattern})+", text):
        seconds = sum(float(n) * UNITS[u] for n, u in DURATION.findall(text))
    else:
        raise ValueError(f"not a duration: {text!r} (examples: 5m, 30s, 500ms, 1h)")
    if seconds <= 0:
        raise ValueError(f"the duration must be positive, not {text!r}")
    return seconds


@dataclass(frozen=True)
class Settings:
    interval: float | None = None  # None: one cycle (cron, CI)
    self_heal: bool = False
    pull: bool = False
    max_cycles: int | None = None
    max_backoff: float = 900.0


def backoff(errors: int, interval: float, cap: float) -> float:
    """Wait after `errors` consecutive failed cycles: interval, then doubling from it, capped."""
    if errors <= 0:
        return interval
    return min(interval * 2**errors, max(cap, interval))


class Steps(Protocol):
    def pull(self) -> dict[str, Any]: ...  # {"from": sha, "to": sha}
    def detect(self) -> DriftReport: ...
    def heal(self) -> dict[str, Any]: ...  # {"ok": bool, "runId": …, "results": […]}


def run(
    settings: Settings,
    steps: Steps,
    *,
    log: Callable[[Event], None],
    notify: Callable[[Event], None] | None = None,
    stop: threading.Event | None = None,
    wait: Callable[[float], bool] | None = None,
    lost: Callable[[], bool] = lambda: False,
) -> int:
    """Run cycles until done; returns the exit code (one-shot: 0 in sync or healed, 2 drift left, 1 error)."""
    stop = stop or threading.Event()
    wait = wait or stop.wait
    cycle, errors, code = 0, 0, 0
    reason = "once"
    while True:
        cycle += 1
        if lost():
            log({"event": "error", "cycle": cycle, "error": "the reconcile lock was lost; stopping"})
            log({"event": "stop", "reason": "lock lost", "cycles": cycle - 1})
            return 1
        log({"event": "cycle", "cycle": cycle})
        try:
            code = _cycle(cycle, settings, steps, log, notify, stop)
            errors = 0
        except Exception as err:  # noqa: BLE001 - a failed cycle is logged, backed off and retried
            errors += 1
            code = 1
            delay = backoff(errors, settings.interval, settings.max_backoff) if settings.interval else None
            log(
                {
                    "event": "error",
                    "cycle": cycle,
                    "error": _message(err),
                    "consecutiveErrors": errors,
                    **({"retryInSeconds": delay} if delay is not None else {}),
                }
            )
        if settings.interval is None:
            break
        if stop.is_set():
            reason = "signal"
            break
        if settings.max_cycles is not None and cycle >= settings.max_cycles:
            reason = "max-cycles"
            break
        if wait(backoff(errors, settings.interval, settings.max_backoff)):
            reason = "signal"
            break
    log({"event": "stop", "reason": reason, "cycles": cycle})
    return code if settings.interval is None else 0


def _cycle(
    cycle: int,
    settings: Settings,
    steps: Steps,
    log: Callable[[Event], None],
    notify: Callable[[Event], None] | None,
    stop: threading.Event,
) -> int:
    if settings.pull:
        log({"event": "pull", "cycle": cycle, **steps.pull()})
        if stop.is_set():
            return 0
    report = steps.detect()
    event = {"event": "drift", "cycle": cycle, "drift": bool(report.real), **_drift_summary(report)}
    log(event)
    if report.real:
        _notify(notify, event, log)
    if settings.self_heal:
        for item in report.rolled_back:  # expected drift: logged, never undone
            log(
                {
                    "event": "skip",
                    "cycle": cycle,
                    "resource": item.resource,
                    "target": item.target,
                    "reason": "held by a rollback, self-heal leaves it: " + (item.reasons[0] if item.reasons else ""),
                }
            )
    if not report.real:
        return 0
    if not settings.self_heal or stop.is_set():
        return 2
    result = steps.heal()
    event = {"event": "apply", "cycle": cycle, **result}
    log(event)
    _notify(notify, event, log)
    if not result.get("ok"):
        raise ReconcileError(f"self-heal apply failed (run {result.get('runId')})")
    return 0


def _drift_summary(report: DriftReport) -> dict[str, Any]:
    doc = to_json(report)
    return {
        "workspace": doc["workspace"],
        "git": doc["git"],
        "summary": doc["summary"],
        "items": [{k: i[k] for k in ("resource", "target", "kind", "action", "reasons")} for i in doc["items"]],
    }


def _notify(notify: Callable[[Event], None] | None, event: Event, log: Callable[[Event], None]) -> None:
    if notify is None:
        return
    try:
        notify(event)
    except Exception as err:  # noqa: BLE001 - a webhook outage never stops reconciling
        log({"event": "webhook-error", "cycle": event.get("cycle"), "error": _message(err)})


def _message(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text if isinstance(err, ReconcileError) else f"{type(err).__name__}: {text}"


def stamp(event: Event) -> Event:
    return {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), **event}


def post_webhook(url: str, event: Event, timeout: float = 10.0) -> None:
    """POST the event as JSON; any non-2xx answer is an error."""
    import httpx

    response = httpx.post(url, json=event, timeout=timeout, headers={"User-Agent": "modelctl-reconcile"})
    response.raise_for_status()
