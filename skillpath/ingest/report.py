"""What ingestion has done so far, from the ledger alone, for the CLI summary, the
Dagster checks and the reports: per source the files and rows (in = loaded +
quarantined + duplicate + erased), the failed files, the top quarantine reasons, and which
sources are missing."""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from skillpath.ingest.sources import SOURCES


@dataclass(frozen=True)
class SourceSummary:
    table: str
    required: bool
    files: int
    failed_files: int
    held_files: int  # latest delivery held as suspect_truncated, awaiting --accept
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    rows_erased: int  # rows of erased persons (suppression list): counted, never loaded
    worst_file_share: float  # largest share of rows quarantined in a file's latest version
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def missing(self) -> bool:
        return self.files == 0


def ingest_summary(con: duckdb.DuckDBPyConnection) -> list[SourceSummary]:
    """One entry per known source, missing ones included (with zero files)."""
    log = {
        row[0]: row[1:]
        for row in con.execute(
            """
            select source, count(*), count(*) filter (where status = 'failed'),
                   count(*) filter (where is_latest and status = 'suspect_truncated'),
                   sum(rows_in), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate),
                   coalesce(sum(rows_erased), 0),
                   max(share) filter (where is_latest and status <> 'suspect_truncated')
            from (
                select *,
                       case when rows_in - coalesce(rows_erased, 0) > 0
                            then rows_quarantined / (rows_in - coalesce(rows_erased, 0))
                            when status = 'failed' then 1.0 else 0.0 end as share,
                       row_number() over (partition by file order by started_at desc) = 1
                           as is_latest
                from audit.ingest_log
            ) group by source
            """
        ).fetchall()
    }
    reasons: dict[str, dict[str, int]] = {}
    for source, code, n in con.execute(
        "select source, reason_code, count(*) from audit.quarantine group by all "
        "order by source, count(*) desc, reason_code"
    ).fetchall():
        reasons.setdefault(source, {})[code] = n
    out = []
    for s in SOURCES:
        files, failed, held, rows_in, loaded, quarantined, duplicate, erased, worst = log.get(
            s.table, (0, 0, 0, 0, 0, 0, 0, 0, 0.0)
        )
        out.append(
            SourceSummary(
                s.table,
                s.required,
                int(files),
                int(failed),
                int(held),
                int(rows_in or 0),
                int(loaded or 0),
                int(quarantined or 0),
                int(duplicate or 0),
                int(erased or 0),
                float(worst or 0.0),
                reasons.get(s.table, {}),
            )
        )
    return out


def render_summary(summaries: list[SourceSummary]) -> str:
    lines = ["ingestion (files, rows in = loaded + quarantined + duplicate + erased):"]
    for s in summaries:
        if s.missing:
            need = "REQUIRED source missing" if s.required else "optional, not provided"
            lines.append(f"  {s.table:<28} {need}")
            continue
        failed = f", {s.failed_files} failed" if s.failed_files else ""
        if s.held_files:
            failed += f", {s.held_files} HELD (suspect_truncated: skillpath ingest --accept)"
        top = ", ".join(f"{code} {n}" for code, n in list(s.reasons.items())[:3])
        lines.append(
            f"  {s.table:<28} {s.files:>3} files{failed} {s.rows_in:>10,} = {s.rows_loaded:>10,}"
            f" + {s.rows_quarantined:>7,} + {s.rows_duplicate:>7,} + {s.rows_erased:>5,}"
            + (f"  [{top}]" if top else "")
        )
    return "\n".join(lines)
