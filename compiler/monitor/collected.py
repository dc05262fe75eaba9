"""Read collected records (model/version/yyyy/mm/dd/hh/*.jsonl) and flatten their inputs into features."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .metrics import MonitorError

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str) -> timedelta:
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise MonitorError(f"--since {text!r}: use a number with s, m, h, d or w, e.g. 1h or 30m")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def _hour_of(path: Path, root: Path) -> datetime | None:
    parts = path.relative_to(root).parts
    try:
        y, mo, d, h = (int(p) for p in parts[-5:-1])
        return datetime(y, mo, d, h, tzinfo=timezone.utc)
    except (ValueError, IndexError):
        return None


def read_records(
    root: Path,
    since: timedelta | None = None,
    model: str | None = None,
    collection: str = "scoring",
    now: datetime | None = None,
) -> list[dict]:
    """Records of one collection, newer than now - since (whole partitions older than that are skipped)."""
    if not root.is_dir():
        raise MonitorError(f"collected data folder not found: {root}")
    now = now or datetime.now(timezone.utc)
    cutoff = now - since if since else None
    records = []
    for f in sorted(root.rglob(f"{collection}-*.jsonl")):
        hour = _hour_of(f, root)
        if cutoff and hour and hour + timedelta(hours=1) <= cutoff:
            continue
        for line in f.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if model and r.get("model") != model:
                continue
            if cutoff:
                try:
                    if datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00")) < cutoff:
                        continue
                except (KeyError, ValueError):
                    continue
            records.append(r)
    return records


def feature_rows(records: list[dict]):
    """Yield {feature: number} per scored row. Tensors [n, k] give `name[i]`; object rows give their keys."""
    for r in records:
        inputs = r.get("inputs")
        if not isinstance(inputs, dict):
            continue
        rows_by_input = {name: value for name, value in inputs.items() if isinstance(value, list)}
        n = max((len(v) for v in rows_by_input.values()), default=0)
        for i in range(n):
            row = {}
            for name, value in rows_by_input.items():
                if i >= len(value):
                    continue
                item = value[i]
                if isinstance(item, dict):
                    row.update({k: v for k, v in item.items() if _numeric(v)})
                elif isinstance(item, list):
                    row.update({f"{name}[{j}]": v for j, v in enumerate(item) if _numeric(v)})
                elif _numeric(item):
                    row[name] = item
            yield row


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def columns(rows) -> dict[str, list[float]]:
    cols: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            cols.setdefault(k, []).append(float(v))
    return cols


def load_baseline(path: Path, model: str | None = None) -> dict[str, list[float]]:
    """A CSV with a header row, a JSON Lines file of collected records, or a collected-data folder."""
    if not path.exists():
        raise MonitorError(f"baseline not found: {path}")
    if path.is_dir():
        return columns(feature_rows(read_records(path, model=model)))
    if path.suffix == ".csv":
        cols: dict[str, list[float]] = {}
        with path.open(newline="") as f:
            for row in csv.DictReader(f):
                for k, v in row.items():
                    try:
                        cols.setdefault(k, []).append(float(v))
                    except (TypeError, ValueError):
                        pass
        return cols
    try:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise MonitorError(f"{path}: not JSON Lines ({exc})") from None
    return columns(feature_rows(records))
