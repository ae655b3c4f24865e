"""Charts of the compliance report as PNG data URIs: embedded in the page, so nothing is
fetched when it is opened (no network, no JavaScript)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from skillpath.reports.render import png_data_uri


def ratio_chart(rows: pd.DataFrame, panels: list[tuple[str, str]], attribute: str) -> str | None:
    """One panel per (source, metric): each group's ratio to comparable colleagues with
    its interval, the line of parity (1) and the threshold below which a difference
    counts. ``rows``: the attribute's rows of ``audit.fairness_groups``."""
    shown = [(s, m) for s, m in panels if ((rows["source"] == s) & (rows["metric"] == m)).any()]
    if not shown:
        return None
    groups = sorted(rows["group"].unique())
    height = 1.2 + 0.45 * len(groups)
    fig = Figure(figsize=(3.6 * len(shown), height))
    axes = fig.subplots(1, len(shown), squeeze=False)
    for ax, (source, metric) in zip(axes[0], shown, strict=True):
        part = rows[(rows["source"] == source) & (rows["metric"] == metric)].set_index("group")
        part = part.reindex(groups)
        y = np.arange(len(groups))
        low = np.where(part["holm_ci_low"].notna(), part["holm_ci_low"], part["ci_low"])
        high = np.where(part["holm_ci_high"].notna(), part["holm_ci_high"], part["ci_high"])
        ratio = part["ratio"].to_numpy(dtype=float)
        blocks = part["blocks"].fillna(False).to_numpy(dtype=bool)
        colours = np.where(blocks, "#c0392b", "#2c6e9b")
        errors = np.vstack([ratio - low, high - ratio]).astype(float)
        ax.errorbar(ratio, y, xerr=np.nan_to_num(errors), fmt="none", ecolor="#888", capsize=3)
        ax.scatter(ratio, y, c=colours, zorder=3)
        ax.axvline(1.0, color="#333", lw=1)
        threshold = part["threshold"].dropna()
        if len(threshold):
            ax.axvline(float(threshold.iloc[0]), color="#c0392b", lw=1, ls="--")
        ax.set_yticks(y, groups if ax is axes[0][0] else [""] * len(groups))
        ax.set_title(f"{metric}\n({source})", fontsize=9)
        ax.set_xlabel("ratio to comparable colleagues", fontsize=8)
        ax.tick_params(labelsize=8)
    fig.suptitle(f"by {attribute}: dot = ratio, bar = interval, dashed = threshold", fontsize=9)
    fig.tight_layout()
    return png_data_uri(fig, dpi=90)
