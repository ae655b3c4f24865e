"""Ingest one source: every new or changed file of it, each in its own transaction, so
a broken file is recorded and skipped while the others load."""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
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
from skillpath.warehouse import connect, qualified

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
    staging: Future[xapi.StagedFile] | None = None,
) -> FileResult:
    """One file in one transaction. ``supersedes``: this version of the file was ingested
    from then on before; its quarantine rows since are replaced by this run's, so each
    row has one current fate (the earlier run's counts stay in the log). ``staging``: a
    statement file, being staged on ``con`` by another thread (``_StatementPipeline``);
    None for a CSV file."""
    result = FileResult(source.table, file.relative, digest)
    loaded_at = utcnow()
    try:
        # A statement file is read and checked into temp tables before its transaction:
        # checking may fail a query and repeat it, which would abort a transaction.
        staged = staging.result() if staging is not None else None
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


def _to_ingest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    digest: str,
    outcome: SourceResult,
) -> tuple[bool, datetime | None]:
    """Whether to ingest this version of the file, and since when an earlier ingestion of
    it is superseded (``_ingest_file``); an unchanged file is noted as skipped."""
    if not already_ingested(con, file.relative, digest):
        return True, None
    supersedes = awaiting_new_persons(con, file.relative, digest) if source.is_statements else None
    if supersedes is None:
        outcome.skipped.append(file.relative)
        return False, None
    log.info("%s: HR knows new persons; retrying its unknown actors", file.relative)
    return True, supersedes


def _logged(result: FileResult, outcome: SourceResult) -> None:
    log.info("%s: %s", result.file, result.message or f"all {result.rows_in} rows loaded")
    outcome.files.append(result)


@dataclass
class _Staged:
    """A statement file whose staging has started on ``lane``."""

    file: LandingFile
    digest: str
    supersedes: datetime | None
    lane: duckdb.DuckDBPyConnection
    staging: Future[xapi.StagedFile]


class _StatementPipeline:
    """Statement files in two steps that overlap: while one file is loaded in its
    transaction, the next is read and checked (``xapi.stage_statement_file``) on a
    second connection by another thread. A file of fewer than 122,880 statements (a
    monthly LMS export) is one DuckDB row group, which one thread checks and one thread
    commits, so without the overlap one core would idle (docs/benchmarks.md). Files are
    still loaded one at a time and in landing order, each on the connection that staged
    it (temp tables belong to a connection): dedup across files is as if serial."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.lanes = [con.cursor(), con.cursor()]
        for lane in self.lanes:
            lane.execute("set TimeZone = 'UTC'")
        self.stager = ThreadPoolExecutor(max_workers=1)
        self.started = 0

    def stage(self, file: LandingFile, digest: str, supersedes: datetime | None) -> _Staged:
        lane = self.lanes[self.started % 2]
        self.started += 1
        staging = self.stager.submit(xapi.stage_statement_file, lane, file)
        return _Staged(file, digest, supersedes, lane, staging)

    def close(self) -> None:
        self.stager.shutdown(wait=True, cancel_futures=True)
        for lane in self.lanes:
            lane.close()


def _ingest_statement_files(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[tuple[LandingFile, Future[str]]],
    outcome: SourceResult,
) -> None:
    pipeline = _StatementPipeline(con)
    pending = iter(files)

    def stage_next() -> _Staged | None:
        for file, hashing in pending:
            digest = hashing.result()
            ingest, supersedes = _to_ingest(con, source, file, digest, outcome)
            if ingest:
                return pipeline.stage(file, digest, supersedes)
        return None

    try:
        current = stage_next()
        while current is not None:
            following = stage_next()  # staged while ``current`` loads
            result = _ingest_file(
                current.lane,
                source,
                current.file,
                current.digest,
                current.supersedes,
                staging=current.staging,
            )
            _logged(result, outcome)
            current = following
    finally:
        pipeline.close()


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
        digests = [(file, hasher.submit(checksum, file.path)) for file in files]
        if source.is_statements:
            _ingest_statement_files(con, source, digests, outcome)
        else:
            for file, pending in digests:
                digest = pending.result()
                ingest, supersedes = _to_ingest(con, source, file, digest, outcome)
                if ingest:
                    _logged(_ingest_file(con, source, file, digest, supersedes), outcome)
    finally:
        hasher.shutdown(cancel_futures=True)
    if source.is_statements:
        outcome.extra = xapi.apply_voiding_and_catalog(con)
    outcome.table_rows = con.execute(f"select count(*) from {qualified(table)}").fetchone()[0]
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
