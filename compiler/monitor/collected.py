"""Read collected records (model/version/yyyy/mm/dd/hh/*.jsonl) and flatten their inputs into features."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
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
    """Yield {feature: number} per scored row. Object rows give their keys; tensors [n, k] give the
    names of their columns when the record carries them (`featureNames`, from the model's signature),
    else `name[i]`."""
    for r in records:
        inputs = r.get("inputs")
        if not isinstance(inputs, dict):
            continue
        names = _feature_names(r)
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
                    cols = names.get(name, ())
                    row.update(
                        {(cols[j] if j < len(cols) else f"{name}[{j}]"): v for j, v in enumerate(item) if _numeric(v)}
                    )
                elif _numeric(item):
                    row[name] = item
            yield row


def _feature_names(record: dict) -> dict[str, list[str]]:
    raw = record.get("featureNames")
    if not isinstance(raw, dict):
        return {}
    return {k: v for k, v in raw.items() if isinstance(v, list) and all(isinstance(x, str) for x in v)}


def aliases(records: list[dict]) -> dict[str, str]:
    """`input[i]` → the feature name it was collected under, for every named column of the records."""
    out: dict[str, str] = {}
    for r in records:
        for name, cols in _feature_names(r).items():
            for j, col in enumerate(cols):
                out.setdefault(f"{name}[{j}]", col)
    return out


def _numeric(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def columns(rows) -> dict[str, list[float]]:
    cols: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            cols.setdefault(k, []).append(float(v))
    return cols


@dataclass(frozen=True)
class Baseline:
    columns: dict[str, list[float]]  # as the file names them
    aliases: dict[str, str] = field(default_factory=dict)  # `input[i]` → feature name (record baselines)
    notes: tuple[str, ...] = ()  # what reading it left out (non-numeric CSV cells), warned with the matches


def load_baseline(path: Path, model: str | None = None) -> Baseline:
    """A CSV with a header row, a JSON Lines file of collected records, or a collected-data folder."""
    if not path.exists():
        raise MonitorError(f"baseline not found: {path}")
    baseline = _read_baseline(path, model)
    if not baseline.columns:  # an empty PSI column would look like "no drift"
        raise MonitorError(
            f"baseline {path} has no numeric values: expected a CSV with a header row and rows of numbers, "
            "collected records (JSON Lines) or a collected-data folder"
        )
    return baseline


def _read_baseline(path: Path, model: str | None) -> Baseline:
    if path.is_dir():
        records = read_records(path, model=model)
        return Baseline(columns(feature_rows(records)), aliases(records))
    if path.suffix == ".csv":
        return _read_csv(path)
    try:
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise MonitorError(f"{path}: not JSON Lines ({exc})") from None
    return Baseline(columns(feature_rows(records)), aliases(records))


def _read_csv(path: Path) -> Baseline:
    cols: dict[str, list[float]] = {}
    skipped: dict[str, int] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            for k, v in row.items():
                try:
                    value = float(v)
                except (TypeError, ValueError):
                    skipped[k] = skipped.get(k, 0) + 1
                else:
                    cols.setdefault(k, []).append(value)
    notes = tuple(
        f"baseline column {k!r}: {n} value(s) are not numbers and are left out"
        if k in cols
        else f"baseline column {k!r} has no numeric values: it gives no PSI"
        for k, n in skipped.items()
        if k is not None
    )
    return Baseline(cols, notes=notes)


def match_baseline(
    current: dict[str, list[float]], current_aliases: dict[str, str], baseline: Baseline
) -> tuple[dict[str, list[float]], list[str]]:
    """The baseline's columns keyed by the collected features they describe, and a warning for each
    column that describes none. A column matches by feature name or by `input[i]`, either way round
    (records collected before the model's signature named its features are `data[i]`)."""
    named_as = {alias: name for alias, name in current_aliases.items() if name in current}
    base_aliases: dict[str, list[str]] = {}
    for alias, name in baseline.aliases.items():
        base_aliases.setdefault(name, []).append(alias)
    matched: dict[str, list[float]] = {}
    source: dict[str, str] = {}
    warnings: list[str] = list(baseline.notes)
    unmatched: list[str] = []
    for column, values in baseline.columns.items():
        feature = _feature_of(column, current, named_as, base_aliases)
        if feature is None:
            unmatched.append(column)
        elif feature in matched:
            warnings.append(
                f"baseline columns {source[feature]!r} and {column!r} both describe feature {feature!r}; "
                f"using {source[feature]!r}"
            )
        else:
            matched[feature], source[feature] = values, column
    known = sorted(set(current) | set(named_as))
    for column in unmatched:
        warnings.append(f"baseline column {column!r} matches no collected feature; {_hint(column, known, current)}")
    return matched, warnings


def _feature_of(
    column: str, current: dict[str, list[float]], named_as: dict[str, str], base_aliases: dict[str, list[str]]
) -> str | None:
    if column in current:
        return column
    if column in named_as:
        return named_as[column]
    for alias in base_aliases.get(column, ()):  # the baseline named it; the collected records did not
        if alias in current:
            return alias
        if alias in named_as:
            return named_as[alias]
    return None


def _hint(column: str, known: list[str], current: dict[str, list[float]]) -> str:
    from ..diagnostics import did_you_mean

    suggestion = did_you_mean(column, known)
    if suggestion:
        return suggestion
    if not known:
        return "no features were collected"
    shown = ", ".join(sorted(current)[:8]) + (", …" if len(current) > 8 else "")
    unnamed = all(re.fullmatch(r".+\[\d+\]", f) for f in current)
    more = (
        " (the model's signature names no columns: declare spec.signature.inputs[].features on the Model, "
        "or name the baseline's columns like the collected ones)"
        if unnamed
        else ""
    )
    return f"the collected features are {shown}{more}"
