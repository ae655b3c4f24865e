"""The ingest ledger: ``audit.ingest_log`` (one row per delivery of a file) and
``audit.quarantine`` (one row per rejected row, or per rejected file), plus the tables
ingestion adds beside the contract's (docs/architecture.md: identity and validation).

A file is a new delivery when its checksum differs from the latest ledger entry for its
path (so A → B → A applies A again); identical to the latest → no-op
(``latest_delivery``). Every file ends in exactly one :class:`FileResult` whose counts
satisfy ``rows_in = rows_loaded + rows_quarantined + rows_duplicate + rows_erased`` (rows of
persons on the erasure suppression list: ``suppression``); the ledger refuses to write
one that does not, so a loader bug cannot silently lose rows.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from skillpath.ingest.reasons import declared
from skillpath.warehouse import AUDIT_TABLES, create_table_sql, ensure_layout

EXTRA_TABLES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("audit", "person_identity"): (("person_key", "varchar"), ("email_hash", "varchar")),
    # a held snapshot confirmed by ``skillpath ingest --accept FILE`` (docs/operations.md)
    ("audit", "accepted_deliveries"): (
        ("file", "varchar"),
        ("checksum", "varchar"),
        ("accepted_at", "timestamp"),
    ),
    ("published", "employee_directory"): (("person_key", "varchar"), ("employee_id", "varchar")),
    ("audit", "validation_results"): (
        ("run_id", "varchar"),
        ("table_name", "varchar"),
        ("expectation", "varchar"),
        ("column_name", "varchar"),
        ("success", "boolean"),
        ("observed", "varchar"),
        ("run_at", "timestamp"),
    ),
}

# Statuses of audit.ingest_log (docs/operations.md): every row loaded; some rows
# quarantined; the whole file rejected (it could not be read, or lacks a required
# column); a snapshot held because it would remove too many keys (nothing applied until
# ``skillpath ingest --accept``); a file that is no delivery of any source.
LOADED, PARTIAL, FAILED = "loaded", "partial", "failed"
HELD, UNMATCHED = "suspect_truncated", "unmatched"
# columns added to audit.ingest_log after it first shipped: added to older warehouses
# (their earlier deliveries erased no row at ingestion: rows_erased 0)
_LOG_COLUMNS_ADDED = tuple(
    column for column in AUDIT_TABLES["ingest_log"] if column[0] in ("delivered_at", "rows_erased")
)


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_ingest_layout(con: duckdb.DuckDBPyConnection) -> None:
    ensure_layout(con)
    for (schema, table), columns in EXTRA_TABLES.items():
        con.execute(create_table_sql(schema, table, columns))
    for name, type_ in _LOG_COLUMNS_ADDED:
        con.execute(f"alter table audit.ingest_log add column if not exists {name} {type_}")


@dataclass
class FileResult:
    source: str
    file: str
    checksum: str
    started_at: datetime = field(default_factory=utcnow)
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_erased: int = 0  # rows of erased persons: counted, never loaded nor kept
    status: str = LOADED
    message: str = ""
    reasons: dict[str, int] = field(default_factory=dict)
    finished_at: datetime | None = None
    delivered_at: datetime | None = None

    @property
    def balanced(self) -> bool:
        return self.rows_in == (
            self.rows_loaded + self.rows_quarantined + self.rows_duplicate + self.rows_erased
        )

    @property
    def quarantined_share(self) -> float:
        """Of the rows ingestion may process: erased persons' rows are no defect."""
        processed = self.rows_in - self.rows_erased
        return self.rows_quarantined / processed if processed else 0.0

    @property
    def headline(self) -> str:
        """The message as logs and the terminal show it: naming the file once, so the
        engineer knows which delivery to fix."""
        text = self.message or f"all {self.rows_in} rows loaded"
        return text if text.startswith(f"{self.file}:") else f"{self.file}: {text}"


@dataclass(frozen=True)
class LedgerEntry:
    checksum: str
    status: str
    started_at: datetime


def latest_delivery(con: duckdb.DuckDBPyConnection, file: str) -> LedgerEntry | None:
    """The latest ledger entry for the path ``file``: a file whose checksum equals its
    checksum is no new delivery."""
    row = con.execute(
        "select checksum, status, started_at from audit.ingest_log where file = ? "
        "order by started_at desc, finished_at desc limit 1",
        [file],
    ).fetchone()
    return LedgerEntry(*row) if row else None


def is_accepted(con: duckdb.DuckDBPyConnection, file: str, checksum: str) -> bool:
    row = con.execute(
        "select 1 from audit.accepted_deliveries where file = ? and checksum = ? limit 1",
        [file, checksum],
    ).fetchone()
    return row is not None


def accept_delivery(con: duckdb.DuckDBPyConnection, file: str, checksum: str) -> None:
    """Confirm a held snapshot (this version of the file): the next ingestion applies it."""
    if not is_accepted(con, file, checksum):
        con.execute(
            "insert into audit.accepted_deliveries values (?, ?, ?)", [file, checksum, utcnow()]
        )


def awaiting_new_persons(
    con: duckdb.DuckDBPyConnection, file: str, checksum: str
) -> datetime | None:
    """When this version of a statement file was last ingested, if that left statements
    quarantined as ``unknown_actor`` and HR has since brought persons it did not know
    then: the LMS often knows a new hire before the HR export does, and their first
    statements must not stay lost. None otherwise (the file stays skipped)."""
    row = con.execute(
        """
        with last as (
            select started_at, finished_at from audit.ingest_log
            where file = ? and checksum = ? order by finished_at desc limit 1
        )
        select l.started_at from last l
        where exists (select 1 from audit.quarantine q
                      where q.file = ? and q.reason_code = 'unknown_actor'
                        and q.quarantined_at >= l.started_at)
          and exists (select 1 from raw.hr_employees h
                      where h._loaded_at > l.finished_at
                        and not exists (select 1 from raw.hr_employees k
                                        where k.person_key = h.person_key
                                          and k._loaded_at <= l.finished_at))
        """,
        [file, checksum, file],
    ).fetchone()
    return row[0] if row else None


def record_file(con: duckdb.DuckDBPyConnection, result: FileResult) -> None:
    if not result.balanced:
        raise AssertionError(
            f"{result.file}: rows_in {result.rows_in} != loaded {result.rows_loaded} + "
            f"quarantined {result.rows_quarantined} + duplicate {result.rows_duplicate} + "
            f"erased {result.rows_erased}"
        )
    result.finished_at = utcnow()
    con.execute(
        """insert into audit.ingest_log
           (source, file, checksum, rows_in, rows_loaded, rows_quarantined, rows_duplicate,
            rows_erased, status, message, started_at, finished_at, delivered_at)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            result.source,
            result.file,
            result.checksum,
            result.rows_in,
            result.rows_loaded,
            result.rows_quarantined,
            result.rows_duplicate,
            result.rows_erased,
            result.status,
            result.message,
            result.started_at,
            result.finished_at,
            result.delivered_at,
        ],
    )


def quarantine_file(
    con: duckdb.DuckDBPyConnection,
    result: FileResult,
    rows_in: int,
    reason_code: str,
    reason: str,
    status: str = FAILED,
) -> FileResult:
    """Reject (or hold) a whole file: one quarantine row without a row number stands for
    all its rows, so the log still balances and the engineer gets one clear message."""
    declared(reason_code)
    result.rows_in = result.rows_quarantined = rows_in
    result.rows_loaded = result.rows_duplicate = result.rows_erased = 0
    result.status = status
    result.message = f"{result.file}: {reason}"
    result.reasons = {reason_code: rows_in}
    con.execute(
        "insert into audit.quarantine values (?, ?, null, ?, ?, ?, ?)",
        [
            result.source,
            result.file,
            json.dumps({"rows": rows_in}),
            reason_code,
            result.message,
            utcnow(),
        ],
    )
    return result


def tally(
    con: duckdb.DuckDBPyConnection,
    result: FileResult,
    outcomes: str,
    unreadable: dict[str, int] | None = None,
) -> FileResult:
    """Fill the counts of ``result`` from a temp table with one row per input row and
    columns ``outcome`` (loaded | duplicate | quarantined) and ``reason_code``, plus the
    rows that never got that far (``unreadable``: reason code → rows). ``rows_erased``
    is the loader's: those rows were dropped before the outcomes."""
    counts = dict(
        con.execute(f"select outcome, count(*) from {outcomes} group by outcome").fetchall()
    )
    reasons = Counter(unreadable or {})
    reasons.update(
        dict(
            con.execute(
                f"select reason_code, count(*) from {outcomes} where outcome = 'quarantined' "
                "group by reason_code"
            ).fetchall()
        )
    )
    result.rows_loaded = counts.get("loaded", 0)
    result.rows_duplicate = counts.get("duplicate", 0)
    result.rows_quarantined = sum(reasons.values())
    result.reasons = dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
    if result.rows_quarantined:
        result.status = PARTIAL
        listed = ", ".join(f"{code}: {n}" for code, n in result.reasons.items())
        result.message = (
            f"{result.rows_quarantined} of {result.rows_in} rows quarantined ({listed}); "
            "see audit.quarantine for each row and what to fix"
        )
    return result
