"""Ingest one source: every new delivery of it (a file whose checksum differs from the
latest ledger entry for its path), in delivery order, each in its own transaction, so a
broken file is recorded and skipped while the others load."""

from __future__ import annotations

import gzip
import logging
import re
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from skillpath import privacy
from skillpath.ingest import xapi
from skillpath.ingest.csv_loader import load_csv_file
from skillpath.ingest.landing import LandingFile, checksum, source_files, unmatched_files
from skillpath.ingest.ledger import (
    FAILED,
    HELD,
    UNMATCHED,
    FileResult,
    accept_delivery,
    awaiting_new_persons,
    ensure_ingest_layout,
    is_accepted,
    latest_delivery,
    quarantine_file,
    record_file,
    utcnow,
)
from skillpath.ingest.limits import IngestLimits
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
    held: list[str] = field(default_factory=list)  # suspect_truncated, awaiting --accept
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
        held = f", {len(self.held)} held (suspect_truncated)" if self.held else ""
        return (
            f"{self.table}: {len(self.files)} file(s) ingested, {len(self.skipped)} unchanged"
            f"{held}; "
            f"rows in {self.total('rows_in')} = loaded {self.total('rows_loaded')} + "
            f"quarantined {self.total('rows_quarantined')} + duplicate "
            f"{self.total('rows_duplicate')} + erased {self.total('rows_erased')}"
        )


def prepare_connection(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """UTC for every timestamp, the layout, and the pseudonymisation functions."""
    con.execute("set TimeZone = 'UTC'")
    ensure_ingest_layout(con)
    privacy.register_functions(con, pseudonym_key(settings))
    xapi.register_functions(con)


@dataclass(frozen=True)
class _Delivery:
    """A file to ingest: its checksum, since when an earlier ingestion of the same
    version is superseded (a statement file retried for actors HR now knows), and
    whether a held snapshot of it was accepted."""

    file: LandingFile
    digest: str
    supersedes: datetime | None = None
    accepted: bool = False


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    delivery: _Delivery,
    limits: IngestLimits,
    staging: Future[xapi.StagedFile] | None = None,
) -> FileResult:
    """One file in one transaction. With ``delivery.supersedes``, the quarantine rows of
    the earlier ingestion are replaced by this run's, so each row has one current fate
    (the earlier run's counts stay in the log). ``staging``: a statement file, being
    staged on ``con`` by another thread (``_StatementPipeline``); None for a CSV file."""
    file = delivery.file
    result = FileResult(source.table, file.relative, delivery.digest)
    result.delivered_at = file.delivered_at
    loaded_at = utcnow()
    try:
        # A statement file is read and checked into temp tables before its transaction:
        # checking may fail a query and repeat it, which would abort a transaction.
        staged = staging.result() if staging is not None else None
        con.execute("begin transaction")
        try:
            if delivery.supersedes is not None:
                con.execute(
                    "delete from audit.quarantine where file = ? and quarantined_at >= ?",
                    [file.relative, delivery.supersedes],
                )
            if staged is not None:
                xapi.load_statement_file(con, file, staged, result, loaded_at)
            else:
                load_csv_file(con, source, file, result, loaded_at, limits, delivery.accepted)
            record_file(con, result)
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    except Exception as exc:
        # A loader bug must not take the run down or lose the file: roll back what the
        # file wrote and record it as failed, with the error for the engineer (without
        # the values a database error may quote: they may be personal data).
        cause = f"{type(exc).__name__}: {without_values(str(exc).strip().splitlines()[0])}"
        frames = "".join(traceback.format_tb(exc.__traceback__))
        log.error("ingesting %s failed with %s\n%s", file.relative, cause, frames)
        con.execute("begin transaction")
        result = quarantine_file(
            con,
            FileResult(source.table, file.relative, delivery.digest),
            _lines(file, header=not source.is_statements),
            "ingest_error",
            f"ingestion failed with {cause}. This is a defect of skillpath, not of the "
            "file: report it with the file's shape (not its data); the file is retried "
            "when it changes",
        )
        result.delivered_at = file.delivered_at
        record_file(con, result)
        con.execute("commit")
    return result


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def without_values(message: str) -> str:
    """A database error's message without the values it quotes ('…' instead)."""
    return _QUOTED.sub("'…'", message)


def _lines(file: LandingFile, header: bool) -> int:
    """The non-blank lines of a file (less a header row): the rows of a file no loader
    could count, so that even a file that failed on a defect is accounted for."""
    try:
        opener = gzip.open if file.gzipped else open
        with opener(file.path, "rb") as fh:
            count = sum(1 for line in fh if line.strip())
    except (OSError, EOFError):
        return 0
    return max(count - int(header), 0)


def _to_ingest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    digest: str,
    outcome: SourceResult,
) -> _Delivery | None:
    """The delivery to ingest, or None: a file identical to the latest ledger entry for
    its path is no new delivery (noted as skipped, or as held while a held snapshot
    awaits ``--accept``)."""
    latest = latest_delivery(con, file.relative)
    accepted = is_accepted(con, file.relative, digest)
    if latest is None or latest.checksum != digest:
        return _Delivery(file, digest, accepted=accepted)
    if latest.status == HELD:
        if accepted:
            return _Delivery(file, digest, accepted=True)
        outcome.held.append(file.relative)
        return None
    supersedes = awaiting_new_persons(con, file.relative, digest) if source.is_statements else None
    if supersedes is None:
        outcome.skipped.append(file.relative)
        return None
    log.info("%s: HR knows new persons; retrying its unknown actors", file.relative)
    return _Delivery(file, digest, supersedes)


def _logged(result: FileResult, outcome: SourceResult) -> None:
    log.info("%s", result.headline)
    outcome.files.append(result)


@dataclass
class _Staged:
    """A statement file whose staging has started on ``lane``."""

    delivery: _Delivery
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

    def __init__(self, con: duckdb.DuckDBPyConnection, limits: IngestLimits, scratch: Path) -> None:
        self.limits, self.scratch = limits, scratch
        self.lanes = [con.cursor(), con.cursor()]
        for lane in self.lanes:
            lane.execute("set TimeZone = 'UTC'")
        self.stager = ThreadPoolExecutor(max_workers=1)
        self.started = 0

    def stage(self, delivery: _Delivery) -> _Staged:
        lane = self.lanes[self.started % 2]
        self.started += 1
        staging = self.stager.submit(
            xapi.stage_statement_file, lane, delivery.file, self.limits, self.scratch
        )
        return _Staged(delivery, lane, staging)

    def close(self) -> None:
        self.stager.shutdown(wait=True, cancel_futures=True)
        for lane in self.lanes:
            lane.close()


def _ingest_statement_files(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    files: list[tuple[LandingFile, Future[str]]],
    outcome: SourceResult,
    limits: IngestLimits,
    scratch: Path,
) -> None:
    pipeline = _StatementPipeline(con, limits, scratch)
    pending = iter(files)

    def stage_next() -> _Staged | None:
        for file, hashing in pending:
            delivery = _to_ingest(con, source, file, hashing.result(), outcome)
            if delivery is not None:
                return pipeline.stage(delivery)
        return None

    try:
        current = stage_next()
        while current is not None:
            following = stage_next()  # staged while ``current`` loads
            result = _ingest_file(
                current.lane, source, current.delivery, limits, staging=current.staging
            )
            _logged(result, outcome)
            current = following
    finally:
        pipeline.close()


def ingest_source_with(
    con: duckdb.DuckDBPyConnection, settings: Settings, table: str
) -> SourceResult:
    source = SOURCES_BY_TABLE[table]
    limits = IngestLimits.from_config(settings.config.ingest)
    files = source_files(settings.landing_dir, source)
    outcome = SourceResult(table, source.required, present=bool(files))
    # Checksums are computed ahead, in a thread (hashlib releases the GIL): the next
    # file is hashed while DuckDB loads this one, often on a core DuckDB leaves idle.
    hasher = ThreadPoolExecutor(max_workers=1)
    try:
        digests = [(file, hasher.submit(checksum, file.path)) for file in files]
        if source.is_statements:
            _ingest_statement_files(
                con, source, digests, outcome, limits, settings.warehouse.parent
            )
        else:
            for file, pending in digests:
                delivery = _to_ingest(con, source, file, pending.result(), outcome)
                if delivery is not None:
                    _logged(_ingest_file(con, source, delivery, limits), outcome)
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


def accept_held(settings: Settings, names: list[str]) -> list[str]:
    """Confirm held snapshots (``skillpath ingest --accept FILE``): each name, relative to
    the landing directory (or a path inside it), must be a file whose latest delivery
    was held as suspect_truncated, unchanged since. Returns the relative names; raises
    ``ValueError`` naming what is wrong, and then accepts none."""
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        accepted = []
        for name in names:
            path = Path(name)
            if path.is_absolute() or not (settings.landing_dir / path).exists():
                path = Path(name).resolve()
                if not path.is_relative_to(settings.landing_dir):
                    raise ValueError(f"{name}: no such file in {settings.landing_dir}")
                path = path.relative_to(settings.landing_dir)
            relative = path.as_posix()
            digest = checksum(settings.landing_dir / relative)
            latest = latest_delivery(con, relative)
            if latest is None or latest.status != HELD:
                status = latest.status if latest else "never ingested"
                raise ValueError(f"{relative} is not held (its latest ingestion: {status})")
            if latest.checksum != digest:
                raise ValueError(
                    f"{relative} changed since it was held: run skillpath ingest to judge "
                    "the new version first"
                )
            accepted.append((relative, digest))
        for relative, digest in accepted:
            accept_delivery(con, relative, digest)
        return [relative for relative, _ in accepted]


def record_unmatched_with(con: duckdb.DuckDBPyConnection, settings: Settings) -> list[FileResult]:
    """Record every landing file that is no delivery of any source in the ledger (status
    ``unmatched``, once per version of the file) and return them all, recorded now or
    before: they are reported on every run until they are renamed or removed."""
    out = []
    for file in unmatched_files(settings.landing_dir):
        digest = checksum(file.path)
        patterns = ", ".join(s.pattern for s in SOURCES if not s.is_statements)
        result = FileResult("", file.relative, digest, status=UNMATCHED)
        result.delivered_at = file.delivered_at
        result.message = (
            f"{file.relative} matches no source, so it was not read; rename it to the "
            f"pattern of its source ({patterns}; statements under lms/statements/ as "
            ".json, .jsonl or .ndjson, optionally gzipped) or remove it"
        )
        latest = latest_delivery(con, file.relative)
        if latest is None or latest.checksum != digest:
            record_file(con, result)
        out.append(result)
    return out


def record_unmatched(settings: Settings) -> list[FileResult]:
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        return record_unmatched_with(con, settings)


def ingest_all(settings: Settings) -> list[SourceResult]:
    """All sources in dependency order (HR first: it defines who the persons are), and
    the files that match none recorded."""
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        results = [ingest_source_with(con, settings, s.table) for s in SOURCES]
        for unmatched in record_unmatched_with(con, settings):
            log.warning("%s", unmatched.message)
        return results
