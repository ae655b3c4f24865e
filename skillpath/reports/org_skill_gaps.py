"""The org skill-gap report HR reads: one self-contained HTML page with a heatmap of
department × skill category, the figures behind every cell, the skills with the most
persons short, and what each figure means.

Every figure comes from a mart (``marts.mart_org_skill_category_gaps`` for the cells,
``marts.mart_org_skill_gaps`` for single skills), so the page shows what HR would get by
querying the warehouse; nothing is recomputed here. Suppression is inherited, never
undone: a suppressed group is shown as "suppressed", never as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from skillpath.reports.render import png_data_uri, render

HTML_NAME = "index.html"
TEMPLATE = "org_skill_gaps.html.j2"
# Colour scale of the mean gap, in levels. Required levels run 1-5, so a department short
# of 3 levels on average in a whole category is as bad as it gets in practice; a fixed
# scale keeps the colours of two runs comparable. Darker above it, and said so.
GAP_SCALE_MAX = 3.0
TOP_SKILLS = 15

_CELLS_SQL = """
select department, skill_category, department_headcount, skills_required, skills_suppressed,
       is_suppressed, min_group_size, persons_required, persons_short, share_short, mean_gap
from marts.mart_org_skill_category_gaps
order by department, skill_category
"""

_TOP_SKILLS_SQL = """
select department, skill_name, skill_category, headcount, persons_short, share_short, mean_gap
from marts.mart_org_skill_gaps
where not is_suppressed and persons_short > 0
order by persons_short desc, mean_gap desc, department, skill_name
limit ?
"""

_MIN_GROUP_SIZE_SQL = "select max(min_group_size) from marts.mart_org_skill_gaps"


@dataclass(frozen=True)
class HeatmapReport:
    html: Path
    departments: int
    categories: int
    cells_shown: int
    cells_suppressed: int


def load_cells(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per department × skill category some role of the department requires."""
    return con.execute(_CELLS_SQL).df()


def load_top_skills(con: duckdb.DuckDBPyConnection, limit: int = TOP_SKILLS) -> pd.DataFrame:
    """The reported department × skill groups with the most persons short."""
    return con.execute(_TOP_SKILLS_SQL, [limit]).df()


def _heatmap(cells: pd.DataFrame) -> str:
    """The heatmap as a data URI: colour = mean gap; grey hatched = suppressed; white =
    not required (no cell in the mart)."""
    grid = cells.pivot(index="department", columns="skill_category", values="mean_gap")
    suppressed = (
        cells.pivot(index="department", columns="skill_category", values="is_suppressed")
        .reindex_like(grid)
        .fillna(False)
        .astype(bool)
    )
    short = cells.pivot(index="department", columns="skill_category", values="persons_short")
    required = cells.pivot(index="department", columns="skill_category", values="persons_required")
    values = grid.to_numpy(dtype=float)
    fig_w = 3.2 + 1.15 * len(grid.columns)
    fig_h = 1.9 + 0.55 * len(grid.index)
    fig, ax = plt.subplots(figsize=(max(fig_w, 7.0), fig_h))
    cmap = plt.get_cmap("OrRd").with_extremes(bad=(1, 1, 1, 0), over="#5a0000")
    image = ax.imshow(
        np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=GAP_SCALE_MAX, aspect="auto"
    )
    ax.imshow(
        np.ma.masked_where(~suppressed.to_numpy(), np.ones(values.shape)),
        cmap=ListedColormap(["#d9d9d9"]),
        aspect="auto",
    )
    for (row, col), value in np.ndenumerate(values):
        if suppressed.iat[row, col]:
            ax.add_patch(
                plt.Rectangle(
                    (col - 0.5, row - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#9a9a9a"
                )
            )
            ax.text(col, row, "suppressed", ha="center", va="center", fontsize=7.5)
        elif not np.isnan(value):
            dark = value > 0.6 * GAP_SCALE_MAX
            ax.text(
                col,
                row,
                f"{value:.1f}\n{int(short.iat[row, col]):,} of {int(required.iat[row, col]):,}",
                ha="center",
                va="center",
                fontsize=7.5,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(len(grid.columns)), grid.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(grid.index)), grid.index)
    for label in [*ax.get_xticklabels(), *ax.get_yticklabels()]:
        label.set_parse_math(False)  # names from customer files: "$" is text, not TeX
    ax.set_xticks(np.arange(-0.5, len(grid.columns)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(grid.index)), minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    colorbar = fig.colorbar(image, ax=ax, extend="max", fraction=0.04, pad=0.02)
    colorbar.set_label("mean gap (levels short of the requirement)")
    fig.legend(
        handles=[
            Patch(facecolor="#d9d9d9", hatch="///", edgecolor="#9a9a9a", label="suppressed"),
            Patch(facecolor="white", edgecolor="#9a9a9a", label="not required by any role"),
        ],
        loc="lower center",
        ncol=2,
        frameon=False,
    )
    ax.set_title(
        "Mean skill gap by department and skill category\n(persons short of persons required)"
    )
    fig.tight_layout(rect=(0, 0.6 / fig_h, 1, 1))  # room for the legend below
    uri = png_data_uri(fig)
    plt.close(fig)
    return uri


def _count(value: object) -> str:
    return f"{int(value):,}"


def _persons(value: object) -> str:
    return f"{int(value):,} active person" + ("" if int(value) == 1 else "s")


def _rows_by_department(cells: pd.DataFrame) -> list[dict]:
    departments = []
    for department, group in cells.groupby("department", sort=True):
        departments.append(
            {
                "name": department,
                "headcount": _persons(group["department_headcount"].iloc[0]),
                "cells": [
                    {
                        "category": cell.skill_category,
                        "suppressed": bool(cell.is_suppressed),
                        "persons_required": None
                        if cell.is_suppressed
                        else _count(cell.persons_required),
                        "persons_short": None if cell.is_suppressed else _count(cell.persons_short),
                        "share_short": None if cell.is_suppressed else f"{cell.share_short:.0%}",
                        "mean_gap": None if cell.is_suppressed else f"{cell.mean_gap:.2f}",
                        "skills": f"{cell.skills_required - cell.skills_suppressed:,} of "
                        f"{cell.skills_required:,}",
                    }
                    for cell in group.itertuples()
                ],
            }
        )
    return departments


def _top_skills(top: pd.DataFrame) -> list[dict]:
    return [
        {
            "department": row.department,
            "skill": row.skill_name,
            "category": row.skill_category,
            "headcount": _count(row.headcount),
            "persons_short": _count(row.persons_short),
            "share_short": f"{row.share_short:.0%}",
            "mean_gap": f"{row.mean_gap:.2f}",
        }
        for row in top.itertuples()
    ]


def render_page(
    cells: pd.DataFrame, top: pd.DataFrame, min_group_size: int, generated_at: datetime
) -> str:
    return render(
        TEMPLATE,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        min_group_size=min_group_size,
        gap_scale_max=f"{GAP_SCALE_MAX:g}",
        chart=_heatmap(cells) if not cells.empty else None,
        departments=_rows_by_department(cells),
        department_count=cells["department"].nunique(),
        persons=_count(cells.drop_duplicates("department")["department_headcount"].sum()),
        cells_suppressed=int(cells["is_suppressed"].sum()),
        top_skills=_top_skills(top),
    )


def write_org_skill_gap_heatmap(warehouse: Path, out_dir: Path) -> HeatmapReport:
    """Render the report into ``out_dir/index.html`` (directory created if missing)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cells = load_cells(con)
        top = load_top_skills(con)
        min_group_size = con.execute(_MIN_GROUP_SIZE_SQL).fetchone()[0]
    page = out_dir / HTML_NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    page.write_text(render_page(cells, top, min_group_size, datetime.now(UTC)), encoding="utf-8")
    suppressed = int(cells["is_suppressed"].sum())
    return HeatmapReport(
        html=page,
        departments=int(cells["department"].nunique()),
        categories=int(cells["skill_category"].nunique()),
        cells_shown=len(cells) - suppressed,
        cells_suppressed=suppressed,
    )
