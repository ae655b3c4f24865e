"""The org skill-gap heatmap HR asked for: department × skill category, coloured by the
mean gap (levels short of what roles require), from ``marts.mart_org_skill_gaps``.

Suppression is inherited, never undone: groups the mart withheld (too few persons) add
nothing to a cell, and a cell made only of withheld groups stays empty ("n < min").
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import duckdb
import matplotlib

matplotlib.use("Agg")  # headless: runs in Dagster and CI without a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

PNG_NAME = "org_skill_gap_heatmap.png"
HTML_NAME = "index.html"

_CELLS_SQL = """
select
    department,
    skill_category,
    count(*) as skills,
    sum(case when is_suppressed then 1 else 0 end) as skills_suppressed,
    sum(case when is_suppressed then 0 else mean_gap * headcount end)
        / nullif(sum(case when is_suppressed then 0 else headcount end), 0) as mean_gap,
    sum(case when is_suppressed then 0 else persons_short end) as persons_short,
    max(min_group_size) as min_group_size
from marts.mart_org_skill_gaps
group by department, skill_category
order by department, skill_category
"""


@dataclass(frozen=True)
class HeatmapReport:
    png: Path
    html: Path
    departments: int
    categories: int
    cells_shown: int
    cells_suppressed: int


def load_cells(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per department × skill category; mean_gap is headcount-weighted over the
    category's reported skills and null when every skill of the cell was suppressed."""
    return con.execute(_CELLS_SQL).df()


def _plot(grid: pd.DataFrame, withheld: pd.DataFrame, png: Path) -> None:
    values = grid.to_numpy(dtype=float)
    fig_w = 2.5 + 1.1 * max(len(grid.columns), 1)
    fig_h = 1.5 + 0.5 * max(len(grid.index), 1)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h), dpi=110)
    if values.size:
        # transparent where there is no value: the grey "withheld" layer shows through
        cmap = matplotlib.colormaps["Reds"].with_extremes(bad=(1, 1, 1, 0))
        ax.imshow(withheld.to_numpy(dtype=float), cmap="Greys", vmin=0, vmax=6, aspect="auto")
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=5, aspect="auto")
        ax.set_xticks(range(len(grid.columns)), grid.columns, rotation=30, ha="right")
        ax.set_yticks(range(len(grid.index)), grid.index)
        for (row, col), value in np.ndenumerate(values):
            if withheld.iat[row, col]:
                ax.text(col, row, "n < min", ha="center", va="center", fontsize=8)
            elif not np.isnan(value):
                ax.text(col, row, f"{value:.1f}", ha="center", va="center", fontsize=8)
        fig.colorbar(image, ax=ax, label="mean gap (levels)")
    else:
        ax.text(0.5, 0.5, "no role requirements: no skill gaps", ha="center", va="center")
        ax.set_axis_off()
    ax.set_title("Skill gaps by department and skill category")
    fig.tight_layout()
    fig.savefig(png)
    plt.close(fig)


def _html(cells: pd.DataFrame) -> str:
    sizes = cells["min_group_size"].dropna()
    min_group_size = int(sizes.iloc[0]) if len(sizes) else "the minimum"
    empty = (
        "<p><strong>No role skill requirements were loaded "
        "(hr/role_skill_requirements.csv), so there are no skill gaps to show.</strong></p>"
        if cells.empty
        else ""
    )
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(str(cell.department)),
            html.escape(str(cell.skill_category)),
            "suppressed" if pd.isna(cell.mean_gap) else f"{cell.mean_gap:.2f}",
            int(cell.persons_short),
            f"{int(cell.skills_suppressed)} of {int(cell.skills)}",
        )
        for cell in cells.itertuples()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Org skill gaps</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
td,th{{padding:.2em .6em;border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><h1>Skill gaps by department and skill category</h1>
<p><img src="{PNG_NAME}" alt="heatmap of mean skill gap by department and skill category"></p>
<p>Each cell: the mean gap, in levels (0-5), between what the roles of a department's active
people require and their estimated level, over the skills of the category (weighted by
persons). Groups of fewer than {min_group_size} persons for a skill are withheld so no one
can be singled out; a cell made only of withheld groups is grey ("n &lt; min").
Definitions: dbt_project/README.md (mart_org_skill_gaps).</p>
{empty}<table><tr><th>department</th><th>skill category</th><th>mean gap</th>
<th>persons short (summed over skills)</th><th>skills withheld</th></tr>{rows}</table>
</body></html>
"""


def write_org_skill_gap_heatmap(warehouse: Path, out_dir: Path) -> HeatmapReport:
    """Render the heatmap PNG and its HTML page into ``out_dir`` (created if missing)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cells = load_cells(con)
    grid = cells.pivot(index="department", columns="skill_category", values="mean_gap")
    # grey "n < min" only where there are gaps to hide; blank where no role requires the
    # category at all
    withheld = (
        cells.assign(withheld=cells["mean_gap"].isna())
        .pivot(index="department", columns="skill_category", values="withheld")
        .reindex_like(grid)
        .fillna(False)
        .astype(bool)
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    png, page = out_dir / PNG_NAME, out_dir / HTML_NAME
    _plot(grid, withheld, png)
    page.write_text(_html(cells), encoding="utf-8")
    suppressed = int(cells["mean_gap"].isna().sum())
    return HeatmapReport(
        png=png,
        html=page,
        departments=int(cells["department"].nunique()),
        categories=int(cells["skill_category"].nunique()),
        cells_shown=len(cells) - suppressed,
        cells_suppressed=suppressed,
    )
