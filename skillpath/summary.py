"""The short report printed after ``skillpath run``: what came in, what was built,
what was published, and where to look next."""

from __future__ import annotations

from contextlib import suppress

import duckdb

from skillpath.ingest.report import ingest_summary
from skillpath.ingest.report import render_summary as render_ingest
from skillpath.settings import Settings
from skillpath.warehouse import connect


def _rows(con, sql: str) -> list[tuple]:
    try:
        return con.execute(sql).fetchall()
    except Exception:  # a stage that has not run yet leaves its tables missing
        return []


def _flow(head: str, items: list[str], width: int = 100) -> list[str]:
    """``head`` and the items joined by " · ", in lines of at most ``width`` characters,
    never breaking an item."""
    lines, current = [], head
    for item in items:
        if len(current) + 3 + len(item) > width:
            lines.append(current)
            current = "  " + item
        else:
            current += (" " if current == head else " · ") + item
    return [*lines, current]


def render_summary(settings: Settings, with_publication: bool = False) -> str:
    lines = [f"warehouse: {settings.warehouse}"]
    if not settings.warehouse.exists():
        return "\n".join([*lines, "  (empty: nothing has been ingested yet)"])
    with connect(settings.warehouse, read_only=True) as con:
        with suppress(duckdb.CatalogException):  # nothing ingested into this warehouse yet
            lines.append(render_ingest(ingest_summary(con)))
        marts = _rows(
            con,
            """
            select table_name, estimated_size from duckdb_tables()
            where schema_name = 'marts' order by table_name
            """,
        )
        if marts:  # a few lines for every mart, so the summary fits on one screen
            lines.extend(_flow("marts (rows):", [f"{name} {rows:,}" for name, rows in marts]))
    if with_publication:
        from skillpath.publish.commands import render_status

        lines.append(render_status(settings, brief=True).split("\n", 1)[-1])
    lines.append(f"reports: {settings.reports_dir}")
    return "\n".join(lines)
