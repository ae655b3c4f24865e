"""The short report printed after ``skillpath run``: what came in, what was built,
what was published, and where to look next."""

from __future__ import annotations

from contextlib import suppress

import duckdb

from skillpath.ingest.landing import unmatched_files
from skillpath.ingest.report import SourceSummary, ingest_summary
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


def _ingestion(summaries: list[SourceSummary]) -> list[str]:
    """When every row of every file was loaded, the rows per source in a few lines;
    otherwise (a row quarantined or duplicate, a file failed or held back, a required
    source missing) the table with everything a data engineer has to look at."""
    present = [s for s in summaries if not s.missing]
    clean = all(
        s.rows_in == s.rows_loaded and not s.failed_files and not s.held_files for s in present
    )
    if not present or not clean or any(s.missing and s.required for s in summaries):
        return render_ingest(summaries).splitlines()
    files, rows = sum(s.files for s in present), sum(s.rows_in for s in present)
    lines = _flow("ingestion (rows):", [f"{s.table} {s.rows_in:,}" for s in present])
    lines.append(f"  {files} files; all {rows:,} rows loaded, none quarantined or duplicate")
    absent = [s.table for s in summaries if s.missing]
    if absent:
        lines.append(f"  optional, not provided: {', '.join(absent)}")
    return lines


def render_summary(settings: Settings, with_publication: bool = False) -> str:
    lines = [f"warehouse: {settings.warehouse}"]
    if not settings.warehouse.exists():
        return "\n".join([*lines, "  (empty: nothing has been ingested yet)"])
    with connect(settings.warehouse, read_only=True) as con:
        with suppress(duckdb.CatalogException):  # nothing ingested into this warehouse yet
            lines.extend(_ingestion(ingest_summary(con)))
        unmatched = unmatched_files(settings.landing_dir)
        if unmatched:
            lines.append("landing files that match no source (not read; see audit.ingest_log):")
            lines.extend(f"  {f.relative}" for f in unmatched)
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
