"""The data-quality verdicts on each raw table that the Dagster asset checks report:
pure functions of the warehouse and the landing directory, so they are tested without
Dagster. Two are blocking (a required source missing; a file with more than the
tolerated share of its rows quarantined), the expectation suite is not."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from skillpath.ingest.landing import source_files
from skillpath.ingest.ledger import HELD
from skillpath.ingest.report import ingest_summary
from skillpath.ingest.sources import SOURCES_BY_TABLE
from skillpath.ingest.validation import validate_table
from skillpath.settings import Settings
from skillpath.warehouse import qualified


@dataclass(frozen=True)
class Verdict:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def source_present(con: duckdb.DuckDBPyConnection, settings: Settings, table: str) -> Verdict:
    source = SOURCES_BY_TABLE[table]
    files = source_files(settings.landing_dir, source)
    rows = con.execute(f"select count(*) from {qualified(table)}").fetchone()[0]
    passed = bool(files) or rows > 0 or not source.required
    where = settings.landing_dir / source.path
    if passed:
        description = f"{len(files)} file(s) in {source.path}; {qualified(table)} has {rows} rows"
    else:
        description = (
            f"required source {source.path} is missing (looked in {where}); export it "
            "into the landing directory and run ingestion again"
        )
    return Verdict(passed, description, {"files": len(files), "rows": rows})


def quarantine_share(con: duckdb.DuckDBPyConnection, table: str, limit: float) -> Verdict:
    """Judged on the latest delivery of each file. A snapshot held as suspect_truncated
    is not a broken file (nothing of it was applied; the marts stand on the previous
    one): it passes, named in the description, until someone accepts or replaces it."""
    summary = next(s for s in ingest_summary(con) if s.table == table)
    latest = con.execute(
        """
        select file, status, rows_in, rows_quarantined, message from (
            select *, row_number() over (partition by file order by started_at desc) as v
            from audit.ingest_log where source = ?
        ) where v = 1 and (status in ('failed', ?)
                           or rows_quarantined > ? * (rows_in - coalesce(rows_erased, 0)))
        order by file
        """,
        [table, HELD, limit],
    ).fetchall()
    worst = [row for row in latest if row[1] != HELD]
    held = [row[0] for row in latest if row[1] == HELD]
    note = (
        f"; held as suspect_truncated (nothing applied, confirm with skillpath ingest "
        f"--accept FILE): {', '.join(held)}"
        if held
        else ""
    )
    metadata = {
        "files": summary.files,
        "rows_in": summary.rows_in,
        "rows_loaded": summary.rows_loaded,
        "rows_quarantined": summary.rows_quarantined,
        "rows_duplicate": summary.rows_duplicate,
        "rows_erased": summary.rows_erased,
        "worst_file_share": round(summary.worst_file_share, 4),
        "max_share": limit,
        "reasons": summary.reasons,
        **({"held_files": held} if held else {}),
    }
    if not worst:
        return Verdict(
            True, f"no file has more than {limit:.0%} of its rows quarantined{note}", metadata
        )
    listed = "; ".join(
        f"{file} ({status}: {q}/{n} rows) {message}" for file, status, n, q, message in worst
    )
    return Verdict(
        False,
        f"{len(worst)} file(s) over the {limit:.0%} quarantine limit: {listed}{note}",
        {**metadata, "failing_files": [w[0] for w in worst]},
    )


def expectations(con: duckdb.DuckDBPyConnection, table: str) -> Verdict:
    results = validate_table(con, table)
    failed = [r for r in results if not r.success]
    metadata = {
        "expectations": len(results),
        "failed": len(failed),
        "results": [
            {"expectation": r.expectation, "column": r.column, "success": r.success, **r.observed}
            for r in results
        ],
    }
    if table == "lms_statements":
        total, outside = con.execute(
            "select count(*), count(*) filter (where not object_in_catalog) from raw.lms_statements"
        ).fetchone()
        metadata["statements_not_in_catalog"] = outside
        metadata["share_not_in_catalog"] = round(outside / total, 4) if total else 0.0
    if failed:
        return Verdict(False, "; ".join(r.describe() for r in failed), metadata)
    return Verdict(True, f"all {len(results)} expectations met", metadata)
