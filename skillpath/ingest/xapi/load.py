"""Writing checked statements (the staged rows of one file) into ``raw.lms_statements``
and ``audit.quarantine``, inside the file's transaction; and the table-wide updates
that later files can trigger (voiding, catalogue membership). Values are bound as
parameters; names come from fixed constants."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import duckdb

from skillpath.ingest.dedup import OUTCOME, insert_loaded, resolve_outcomes
from skillpath.ingest.landing import LandingFile
from skillpath.ingest.ledger import FileResult, tally
from skillpath.ingest.reasons import declared
from skillpath.ingest.records import Record
from skillpath.ingest.sql import problems_message
from skillpath.ingest.xapi.fields import VOIDED

# What makes two statements with one id the same statement: the typed values plus
# the statement's own timestamp (``timestamp`` falls back to ``stored``, which an LRS
# sets and which differs between exports of one statement).
_CONTENT = [
    "statement_id",
    "person_key",
    "verb_id",
    "object_id",
    "registration",
    "try_cast(json_extract_string(payload, '$.timestamp') as timestamptz)",
    "result_score_scaled",
    "result_score_raw",
    "result_score_min",
    "result_score_max",
    "result_success",
    "result_completion",
    "result_duration_seconds",
    "progress",
    "voids_statement_id",
]

_UNITS = ("line", "element")  # what a row number counts


def load_checked(
    con: duckdb.DuckDBPyConnection,
    checked: str,
    file: LandingFile,
    unit: str,
    result: FileResult,
    loaded_at: datetime,
    unreadable: list[Record],
    erased: int = 0,
) -> FileResult:
    """Deduplicate the checked rows (table ``checked``) against each other and the
    stored statements, append the loaded ones and quarantine the rest, and the rows
    that never reached DuckDB (``unreadable``). ``erased``: statements of erased persons
    already dropped from ``checked`` (``suppression``), counted only."""
    if unit not in _UNITS:
        raise ValueError(f"unit {unit!r} is none of {_UNITS}")
    checked_rows = con.execute(f"select count(*) from {checked}").fetchone()[0]
    result.rows_in = checked_rows + len(unreadable) + erased
    result.rows_erased = erased
    resolve_outcomes(
        con, "lms_statements", ("statement_id",), _CONTENT, immutable=True, typed=checked
    )
    insert_loaded(con, "lms_statements", file, loaded_at)
    con.execute(
        f"""
        insert into audit.quarantine
        select 'lms_statements', $file, line_no,
               payload, reason_code,
               $file || ' ' || $unit || ' ' || line_no || ': ' || case
                   when reason_code = 'conflicting_duplicate' then
                       'statement id ' || statement_id || ' was already stored with '
                       || 'different content; an LRS never changes a stored statement: '
                       || 'give the corrected statement a new id (and void the old one)'
                   else {problems_message("problems")}
               end,
               now()::timestamp
        from {OUTCOME} where outcome = 'quarantined' order by line_no
        """,
        {"file": file.relative, "unit": unit},
    )
    if unreadable:
        con.executemany(
            "insert into audit.quarantine values ('lms_statements', ?, ?, null, ?, ?, now())",
            [
                [file.relative, r.line, declared(r.problem.code), r.problem.message]
                for r in unreadable
            ],
        )
    return tally(con, result, OUTCOME, Counter(r.problem.code for r in unreadable))


def apply_voiding_and_catalog(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Table-wide, because a voiding statement or a catalogue entry may arrive in a
    later file than the statements it concerns. A voiding statement cannot itself be
    voided (xAPI 1.0.3 §2.3.2)."""
    voided = con.execute(
        """
        update raw.lms_statements s set voided = true
        where not voided and verb_id <> $voided
          and statement_id in (select voids_statement_id from raw.lms_statements
                               where voids_statement_id is not null)
        """,
        {"voided": VOIDED},
    ).fetchone()[0]
    flagged = con.execute(
        """
        update raw.lms_statements s
        set object_in_catalog = s.object_id in (select content_id from raw.lms_catalog)
        where object_in_catalog is distinct from
              (s.object_id in (select content_id from raw.lms_catalog))
        """
    ).fetchone()[0]
    return {"newly_voided": voided, "catalog_flag_updates": flagged}
