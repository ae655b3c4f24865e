"""Which landing files are new deliveries, decided without ingesting anything: the
landing sensor launches an ingestion only for these, so a UI started after ``make demo``
launches nothing for files ``skillpath run`` already ingested.

A file is new when the ingest ledger (``audit.ingest_log``) has no entry for its path or
its latest entry has another checksum: the same rule ingestion applies, read from the
same table, over the same files (those of a source; others are never ingested). With no
warehouse yet, every file is new.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from skillpath.ingest.landing import checksum, source_files
from skillpath.ingest.sources import SOURCES

_LATEST_CHECKSUMS = """
select file, arg_max(checksum, started_at) as checksum
from audit.ingest_log
group by file
"""


def latest_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The checksum of the latest ledger entry of every file path ingestion has seen."""
    exists = con.execute(
        "select 1 from information_schema.tables "
        "where table_schema = 'audit' and table_name = 'ingest_log'"
    ).fetchone()
    return dict(con.execute(_LATEST_CHECKSUMS).fetchall()) if exists else {}


def new_deliveries(landing_dir: Path, warehouse: Path) -> list[str]:
    """Landing files (relative paths) whose content the ledger has not ingested as their
    latest delivery. Opens the warehouse read-only; raises ``duckdb.IOException`` while
    another process holds it for writing (a run in progress)."""
    files = [file for source in SOURCES for file in source_files(landing_dir, source)]
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            latest = latest_checksums(con)
    else:
        latest = {}
    return [file.relative for file in files if latest.get(file.relative) != checksum(file.path)]
