"""The result types (``Comparison``, ``AttributeSummary``) and the interval
arithmetic: normal bootstrap intervals of log ratios, p-values, Holm's correction."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


@dataclass(frozen=True)
class Comparison:
    """One group against the rest of its attribute on one metric."""

    source: str
    metric: str
    attribute: str
    group: str
    persons: int
    rest_persons: int
    mean: float  # what the group received on average
    adjusted: float  # need-adjusted: index × the population's mean
    index: float  # observed / expected (1 = like comparable colleagues)
    rest_index: float
    ratio: float  # index / rest_index
    standard_error: float  # of log(ratio), from the bootstrap
    ci_low: float  # 1 - alpha interval of the ratio
    ci_high: float
    p_value: float
    blocking: bool = False  # on the pre-declared list
    threshold: float | None = None
    holm_p: float | None = None
    holm_ci_low: float | None = None
    holm_ci_high: float | None = None
    beyond_threshold: bool = False
    excludes_parity: bool = False
    blocks: bool = False

    @property
    def key(self) -> str:
        return f"{self.source}.{self.metric}.{self.attribute}"


@dataclass(frozen=True)
class AttributeSummary:
    """Fairlearn's between-group figures of one metric and attribute on the need-adjusted
    means: difference (max - min) and ratio (min / max), with bootstrap intervals."""

    source: str
    metric: str
    attribute: str
    groups: int
    difference: float
    ratio: float
    difference_ci: tuple[float, float]
    ratio_ci: tuple[float, float]


def _z(alpha: float) -> float:
    return float(norm.ppf(1 - alpha / 2))


def _interval(estimate: float, se: float, alpha: float) -> tuple[float, float]:
    if not math.isfinite(se):
        return float("nan"), float("nan")
    half = _z(alpha) * se
    return estimate - half, estimate + half


def _sd(samples: np.ndarray) -> float:
    finite = samples[np.isfinite(samples)]
    return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


def log_standard_error(samples: np.ndarray) -> float:
    """Standard error of a ratio on the log scale, from its resamples. Ratios of group
    means are skewed (bounded by 0, open above); on the log scale their resamples are
    close to normal, so intervals and p-values of ``_ratio_interval`` / ``_ratio_p``
    hold their level also in small groups. NaN when a resample has no such figure."""
    finite = samples[np.isfinite(samples)]
    if finite.size < 2 or (finite <= 0).any():
        return float("nan")
    return float(np.std(np.log(finite), ddof=1))


def ratio_interval(ratio: float, log_se: float, alpha: float) -> tuple[float, float]:
    if not (math.isfinite(log_se) and ratio > 0):
        return float("nan"), float("nan")
    half = _z(alpha) * log_se
    return math.exp(math.log(ratio) - half), math.exp(math.log(ratio) + half)


def ratio_p_value(ratio: float, log_se: float) -> float:
    """Two-sided, against parity (ratio 1)."""
    if not (math.isfinite(log_se) and ratio > 0):
        return float("nan")
    if log_se == 0:
        return 1.0 if ratio == 1 else 0.0
    return float(2 * norm.sf(abs(math.log(ratio)) / log_se))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone)."""
    order = np.argsort(p_values, kind="stable")
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted
