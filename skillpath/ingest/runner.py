"""Ingest one source: every new or changed file of it, each in its own transaction, so
a broken file is recorded and skipped while the others load."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from skillpath import privacy
from skillpath.ingest import xapi
from skillpath.ingest.csv_loader import load_csv_file
from skillpath.ingest.landing import LandingFile, checksum, ignored_files, source_files
from skillpath.ingest.ledger import (
    FAILED,
    FileResult,
    already_ingested,
    awaiting_new_persons,
    ensure_ingest_layout,
    quarantine_file,
    record_file,
    utcnow,
)
from skillpath.ingest.sources import SOURCES, SOURCES_BY_TABLE, Source
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect

log = logging.getLogger(__name__)


@dataclass
class SourceResult:
    """What one source's ingestion did in this run (the asset's metadata)."""

    table: str
    required: bool
    present: bool
    files: list[FileResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # unchanged files
    ignored: list[str] = field(default_factory=list)  # not statement exports
    table_rows: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    @property
    def failed_files(self) -> list[FileResult]:
        return [f for f in self.files if f.status == FAILED]

    def describe(self) -> str:
        if not self.present:
            need = "REQUIRED" if self.required else "optional"
            return f"{self.table}: no file ({need} source missing; the table stays empty)"
        return (
            f"{self.table}: {len(self.files)} file(s) ingested, {len(self.skipped)} unchanged; "
            f"rows in {self.total('rows_in')} = loaded {self.total('rows_loaded')} + "
            f"quarantined {self.total('rows_quarantined')} + duplicate "
            f"{self.total('rows_duplicate')}"
        )


def prepare_connection(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """UTC for every timestamp, the layout, and the pseudonymisation functions."""
    con.execute("set TimeZone = 'UTC'")
    ensure_ingest_layout(con)
    privacy.register_functions(con, pseudonym_key(settings))
    xapi.register_functions(con)


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    digest: str,
    supersedes: datetime | None = None,
) -> FileResult:
    """One file in one transaction. ``supersedes``: this version of the file was ingested
    from then on before; its quarantine rows since are replaced by this run's, so each
    row has one current fate (the earlier run's counts stay in the log)."""
    result = FileResult(source.table, file.relative, digest)
    loaded_at = utcnow()
    try:
        # A statement file is read and checked into temp tables before its transaction:
        # checking may fail a query and repeat it, which would abort a transaction.
        staged = xapi.stage_statement_file(con, file) if source.is_statements else None
        con.execute("begin transaction")
        try:
            if supersedes is not None:
                con.execute(
                    "delete from audit.quarantine where file = ? and quarantined_at >= ?",
                    [file.relative, supersedes],
                )
            if staged is not None:
                xapi.load_statement_file(con, file, staged, result, loaded_at)
            else:
                load_csv_file(con, source, file, result, loaded_at)
            record_file(con, result)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    except Exception as exc:
        # A loader bug must not take the run down or lose the file: roll back what the
        # file wrote and record it as failed, with the error for the engineer.
        log.exception("ingesting %s failed", file.relative)
        con.execute("begin transaction")
        result = quarantine_file(
            con,
            FileResult(source.table, file.relative, digest),
            0,
            "ingest_error",
            f"ingestion failed with {type(exc).__name__}: {str(exc).splitlines()[0]}; "
            "report this as a bug with the file attached",
        )
        record_file(con, result)
        con.execute("commit")
    return result


def _ingest_new(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    digest: str,
    outcome: SourceResult,
) -> None:
    supersedes = None
    if already_ingested(con, file.relative, digest):
        if source.is_statements:
            supersedes = awaiting_new_persons(con, file.relative, digest)
        if supersedes is None:
            outcome.skipped.append(file.relative)
            return
        log.info("%s: HR knows new persons; retrying its unknown actors", file.relative)
    result = _ingest_file(con, source, file, digest, supersedes)
    log.info("%s: %s", file.relative, result.message or f"all {result.rows_in} rows loaded")
    outcome.files.append(result)


def ingest_source_with(
    con: duckdb.DuckDBPyConnection, settings: Settings, table: str
) -> SourceResult:
    source = SOURCES_BY_TABLE[table]
    files = source_files(settings.landing_dir, source)
    outcome = SourceResult(
        table,
        source.required,
        present=bool(files),
        ignored=ignored_files(settings.landing_dir, source),
    )
    # Checksums are computed ahead, in a thread (hashlib releases the GIL): the next
    # file is hashed while DuckDB loads this one, often on a core DuckDB leaves idle.
    hasher = ThreadPoolExecutor(max_workers=1)
    try:
        digests = [hasher.submit(checksum, file.path) for file in files]
        for file, pending in zip(files, digests, strict=True):
            _ingest_new(con, source, file, pending.result(), outcome)
    finally:
        hasher.shutdown(cancel_futures=True)
    if source.is_statements:
        outcome.extra = xapi.apply_voiding_and_catalog(con)
    outcome.table_rows = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
    return outcome


def ingest_source(settings: Settings, table: str) -> SourceResult:
    """Ingest the new or changed files of one source into ``raw.<table>``."""
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        return ingest_source_with(con, settings, table)


def ingest_all(settings: Settings) -> list[SourceResult]:
    """All sources in dependency order (HR first: it defines who the persons are)."""
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        return [ingest_source_with(con, settings, s.table) for s in SOURCES]
