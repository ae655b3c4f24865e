"""Need-adjusted sums per (stratum, group) cell, the Fairlearn ``MetricFrame`` over
them, and the vectorised bootstrap over persons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame


def stratum_expectation(values: pd.DataFrame, strata: pd.Series) -> pd.DataFrame:
    """Per person and metric: the mean of their stratum (job family × seniority) over
    everyone in it with a figure — what comparable colleagues received."""
    return values.groupby(strata.to_numpy(), dropna=False).transform("mean")


@dataclass(frozen=True)
class Cells:
    """Per-person figures summed per (stratum, group) cell of one attribute: persons with a
    figure, observed and expected sums, each (cells × metrics). Sums are additive, so
    every group figure is a sum over cells — what Fairlearn is given instead of 10,000
    rows (its per-call cost grows with the rows it is handed)."""

    stratum: np.ndarray
    group: np.ndarray
    persons: np.ndarray
    observed: np.ndarray
    expected: np.ndarray


def cells(obs: np.ndarray, exp: np.ndarray, strata: np.ndarray, labels: np.ndarray) -> Cells:
    rows = pd.notna(labels)
    valid = ~np.isnan(obs[rows])
    n_metrics = obs.shape[1]
    frame = pd.DataFrame(
        np.hstack([valid, np.where(valid, obs[rows], 0.0), np.where(valid, exp[rows], 0.0)]).astype(
            float
        )
    )
    keys = [pd.Series(strata[rows], name="stratum"), pd.Series(labels[rows], name="group")]
    summed = frame.groupby(keys, sort=True).sum()
    values = summed.to_numpy()
    return Cells(
        stratum=summed.index.get_level_values("stratum").to_numpy(dtype=object),
        group=summed.index.get_level_values("group").to_numpy(dtype=object),
        persons=values[:, :n_metrics],
        observed=values[:, n_metrics : 2 * n_metrics],
        expected=values[:, 2 * n_metrics :],
    )


def group_frame(c: Cells, metrics: Sequence[str], scale: np.ndarray, attribute: str) -> MetricFrame:
    """Fairlearn's MetricFrame of one attribute: per group and metric the need-adjusted
    mean — observed over expected (the index: 1 = like comparable colleagues) times the
    population's mean ``scale`` — so ``by_group``, ``difference()`` and ``ratio()`` are in
    the metric's own units (e.g. a share of the list)."""

    def adjusted(m: int):
        def metric(y_true: np.ndarray, y_pred: np.ndarray) -> float:
            rows = np.asarray(y_true, dtype=np.int64)
            expected = c.expected[rows, m].sum()
            return c.observed[rows, m].sum() / expected * scale[m] if expected > 0 else np.nan

        return metric

    rows = np.arange(len(c.group))
    return MetricFrame(
        metrics={metric: adjusted(m) for m, metric in enumerate(metrics)},
        y_true=rows,
        y_pred=rows,
        sensitive_features=pd.Series(c.group, name=attribute),
    )


def bootstrap(
    observed: np.ndarray,
    expected: np.ndarray,
    indicators: np.ndarray,
    n_boot: int,
    seed: int,
    chunk: int = 250,
) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``observed`` and ``expected`` (persons × metrics, NaN: no figure) over the
    persons of each indicator column (persons × columns, 0/1) in ``n_boot`` resamples of
    the persons with replacement — the same resampling as Fairlearn's MetricFrame
    bootstrap, as a matrix product of resample counts: (n_boot × columns) each."""
    n, n_metrics = observed.shape
    valid = ~np.isnan(observed)
    obs = np.where(valid, observed, 0.0)
    exp = np.where(valid, expected, 0.0)
    # one design matrix: for each metric its observed and expected values per indicator
    design = np.concatenate(
        [obs[:, m, None] * indicators for m in range(n_metrics)]
        + [exp[:, m, None] * indicators for m in range(n_metrics)],
        axis=1,
    ).astype(np.float32)
    width = n_metrics * indicators.shape[1]
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, 2 * width), dtype=np.float64)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(size, n))
        flat = (draws + (np.arange(size) * n)[:, None]).ravel()
        counts = np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float32)
        out[start : start + size] = counts @ design
    return out[:, :width], out[:, width:]
