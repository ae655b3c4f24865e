"""The short report printed after ``skillpath run``: what came in, what was built,
what was published, and where to look next."""

from __future__ import annotations

from contextlib import suppress

import duckdb

from skillpath.ingest.landing import unmatched_files
from skillpath.ingest.report import ingest_summary
from skillpath.ingest.report import render_summary as render_ingest
from skillpath.settings import Settings
from skillpath.warehouse import connect


def _rows(con, sql: str) -> list[tuple]:
    try:
        return con.execute(sql).fetchall()
    except Exception:  # a stage that has not run yet leaves its tables missing
        return []


def render_summary(settings: Settings, with_publication: bool = False) -> str:
    lines = [f"warehouse: {settings.warehouse}"]
    if not settings.warehouse.exists():
        return "\n".join([*lines, "  (empty: nothing has been ingested yet)"])
    with connect(settings.warehouse, read_only=True) as con:
        with suppress(duckdb.CatalogException):  # nothing ingested into this warehouse yet
            lines.append(render_ingest(ingest_summary(con)))
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
        if marts:
            lines.append("marts (rows):")
            lines.extend(f"  marts.{name:<32} {rows:>10,}" for name, rows in marts)
    if with_publication:
        from skillpath.publish.commands import render_status

        lines.append(render_status(settings).split("\n", 1)[-1])
    lines.append(f"reports: {settings.reports_dir}")
    return "\n".join(lines)
