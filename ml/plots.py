"""The plots a training run carries in MLflow (PNG, aggregates only): what a data
scientist looks at first, without opening a notebook.

- ``metrics_by_approach.png``: the gate protocol's headline figures of every approach,
  published lists and raw scores;
- ``ndcg_by_slice.png``: the published NDCG@10 of every approach in every slice;
- ``precision_recall_at_k.png``: the published lists' precision against recall at every
  cut-off 1..k;
- ``fairness/ratios.png`` (after a publication's audit): the ratio between groups per
  metric and attribute, with the audit's interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no backend, nothing global changed

from ml.evaluate import MODEL, PRIMARY_METRIC, PUBLISHED, RAW, ModelEvaluation

HEADLINE = (
    "precision_at_10",
    "recall_at_10",
    "ndcg_at_10",
    "map_at_10",
    "gap_coverage",
    "catalogue_coverage",
)


def _order(approaches: pd.Index) -> list[str]:
    """The model first, then the others by name: the same colours in every plot."""
    return (
        [MODEL, *sorted(a for a in approaches if a != MODEL)]
        if MODEL in approaches
        else sorted(approaches)
    )


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="tight")
    return fig, fig.subplots(1, columns, sharey=columns > 1)


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


def metrics_by_approach(evaluation: ModelEvaluation, path: Path) -> Path:
    table = evaluation.gate.table
    whole = table[(table["slice"] == "all") & table["metric"].isin(HEADLINE)]
    fig, axes = _figure(12, 4.5, 2)
    for ax, stage in zip(axes, (PUBLISHED, RAW), strict=True):
        wide = whole[whole["stage"] == stage].pivot_table(
            index="metric", columns="approach", values="value"
        )
        wide = wide.reindex([m for m in HEADLINE if m in wide.index])[_order(wide.columns)]
        wide.plot.bar(ax=ax, rot=30, width=0.8, legend=stage == PUBLISHED)
        ax.set_title(f"{stage}: {'lists people see' if stage == PUBLISHED else 'scores alone'}")
        ax.set_xlabel("")
    axes[0].set_ylabel("value on the hold-out (all persons)")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Metrics by approach — {evaluation.gate_protocol} hold-out, 10 items per person")
    return _save(fig, path)


def ndcg_by_slice(evaluation: ModelEvaluation, path: Path) -> Path:
    table = evaluation.gate.table
    rows = table[(table["stage"] == PUBLISHED) & (table["metric"] == PRIMARY_METRIC)]
    wide = rows.pivot_table(index="slice", columns="approach", values="value")
    fixed = [s for s in ("all", "new_hires", "established") if s in wide.index]
    wide = wide.reindex(fixed + sorted(set(wide.index) - set(fixed)))[_order(wide.columns)]
    persons = rows[rows["approach"] == MODEL].set_index("slice")["n_persons"]
    wide.index = [f"{s} ({int(persons.get(s, 0))})" for s in wide.index]
    fig, ax = _figure(10, 0.55 * len(wide) * max(1, len(wide.columns) / 4) + 2)
    wide.plot.barh(ax=ax, width=0.85)
    ax.invert_yaxis()
    ax.set_xlabel(f"published {PRIMARY_METRIC}")
    ax.set_ylabel("slice (persons)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{PRIMARY_METRIC} by slice and approach — {evaluation.gate_protocol} hold-out")
    return _save(fig, path)


def precision_recall(evaluation: ModelEvaluation, path: Path) -> Path:
    curve = evaluation.gate.curve
    fig, ax = _figure(7, 5)
    for approach in _order(pd.Index(curve["approach"].unique())):
        c = curve[curve["approach"] == approach].sort_values("k")
        ax.plot(
            c["recall"],
            c["precision"],
            marker="o",
            ms=3,
            label=approach,
            lw=2.5 if approach == MODEL else 1.2,
        )
        last = c.iloc[-1]
        ax.annotate(f"k={int(last['k'])}", (last["recall"], last["precision"]), fontsize=7)
    ax.set_xlabel("recall@k")
    ax.set_ylabel("precision@k")
    ax.set_title(f"Published lists, k = 1…10 — {evaluation.gate_protocol} hold-out")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def evaluation_plots(evaluation: ModelEvaluation, folder: Path) -> list[Path]:
    return [
        metrics_by_approach(evaluation, folder / "metrics_by_approach.png"),
        ndcg_by_slice(evaluation, folder / "ndcg_by_slice.png"),
        precision_recall(evaluation, folder / "precision_recall_at_k.png"),
    ]


def fairness_plot(attributes: pd.DataFrame | None, folder: Path) -> Path | None:
    """Ratios of the audit (``fairness_attributes``: source, metric, attribute, ratio),
    parity at 1; None when the audit has no ratio to show."""
    needed = {"source", "metric", "attribute", "ratio"}
    if attributes is None or not needed <= set(attributes.columns):
        return None
    rows = attributes.dropna(subset=["ratio"])
    if rows.empty:
        return None
    labels = rows["source"] + "." + rows["metric"] + " · " + rows["attribute"]
    fig, ax = _figure(9, 0.35 * len(rows) + 1.5)
    ratio = rows["ratio"].astype(float)
    bounds = {"ratio_ci_low", "ratio_ci_high"} <= set(rows.columns)
    err = (
        [ratio - rows["ratio_ci_low"].astype(float), rows["ratio_ci_high"].astype(float) - ratio]
        if bounds
        else None
    )
    ax.barh(labels, ratio, xerr=err, capsize=3)
    ax.axvline(1.0, color="black", lw=1)
    ax.invert_yaxis()
    ax.set_xlabel("ratio between groups (1 = parity; whiskers: the audit's interval)")
    ax.set_title("Fairness audit of the publication")
    return _save(fig, folder / "ratios.png")
