"""Per-feature statistics and the population stability index (PSI) against a baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PSI_BINS = 10
PSI_EPSILON = 1e-4
PSI_MODERATE, PSI_SIGNIFICANT = 0.1, 0.25


@dataclass
class FeatureStats:
    feature: str
    count: int
    mean: float
    std: float
    min: float
    p50: float
    max: float
    psi: float | None = None

    @property
    def drift(self) -> str:
        if self.psi is None:
            return "-"
        if self.psi >= PSI_SIGNIFICANT:
            return "significant"
        return "moderate" if self.psi >= PSI_MODERATE else "stable"


def psi(baseline, current, bins: int = PSI_BINS) -> float:
    """PSI = sum((a - e) * ln(a / e)) over bins cut at the baseline's quantiles."""
    expected = np.asarray(baseline, dtype=float)
    actual = np.asarray(current, dtype=float)
    if expected.size == 0 or actual.size == 0:
        return math.nan
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1))[1:-1])
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / expected.size
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / actual.size
    e, a = np.clip(e, PSI_EPSILON, None), np.clip(a, PSI_EPSILON, None)
    return float(np.sum((a - e) * np.log(a / e)))


def feature_stats(
    current: dict[str, list[float]], baseline: dict[str, list[float]] | None = None
) -> list[FeatureStats]:
    out = []
    for name in sorted(current):
        v = np.asarray(current[name], dtype=float)
        stats = FeatureStats(
            name, int(v.size), float(v.mean()), float(v.std()), float(v.min()), float(np.median(v)), float(v.max())
        )
        if baseline and name in baseline and baseline[name]:
            stats.psi = psi(baseline[name], v)
        out.append(stats)
    return out
