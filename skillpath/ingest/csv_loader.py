"""One CSV landing file → its raw table. The file is split into records from its bytes
(``records``: every line accounted for, bad records quarantined with their reason), the
well-formed ones are staged as text, and every value is then typed and checked in one SQL
statement built from the source's column specs."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import duckdb
import pyarrow as pa
from pyarrow import csv as pacsv

from skillpath.ingest import snapshot, suppression
from skillpath.ingest.dedup import (
    OUTCOME,
    TYPED,
    insert_loaded,
    resolve_outcomes,
)
from skillpath.ingest.landing import LandingFile
from skillpath.ingest.ledger import HELD, FileResult, quarantine_file, tally
from skillpath.ingest.limits import IngestLimits, TimeWindow
from skillpath.ingest.reasons import declared
from skillpath.ingest.records import CsvFile, Record, read_csv_records
from skillpath.ingest.sources import Column, Source
from skillpath.ingest.sql import ident, lit, problem, problems_list, problems_message
from skillpath.privacy import PERSONAL_COLUMN
from skillpath.warehouse import RAW_TABLES

_BOOL_TRUE = "('true', 't', '1', 'yes', 'y')"
_BOOL_FALSE = "('false', 'f', '0', 'no', 'n')"
_CAST_HINT = {
    "int": "a whole number",
    "date": "a date (YYYY-MM-DD)",
    "timestamp": "a timestamp (ISO 8601, e.g. 2024-05-01T09:30:00Z)",
    "bool": "a boolean (true/false)",
}
_LINE = "__sp_line_no"  # the staged records' first physical line


def _typed(col: Column, v: str, hr_file: bool) -> str:
    """The typed value of column ``col`` whose trimmed text is ``v``."""
    if col.kind == "int":
        return f"try_cast({v} as integer)"
    if col.kind == "date":
        return f"try_cast({v} as date)"
    if col.kind == "timestamp":
        return f"timezone('UTC', try_cast({v} as timestamptz))"
    if col.kind == "bool":
        return (
            f"case when lower({v}) in {_BOOL_TRUE} then true "
            f"when lower({v}) in {_BOOL_FALSE} then false end"
        )
    if col.kind == "enum":
        return f"lower({v})"
    if col.kind == "person":
        return f"sp_person_key({v})" if hr_file else "_dir.person_key"
    if col.kind == "person_ref":
        return f"sp_person_key({v})"
    return v


def _quoted(v: str) -> str:
    return f"'''' || {v} || ''''"


def _problems(col: Column, v: str, t: str, window: TimeWindow) -> list[str]:
    """Checks of one column, in the order an engineer would fix them. A text as it came
    is never quoted (it may be anyone's name, put in the wrong column); only values that
    were typed (numbers, dates) are."""
    name = col.name
    out = []
    if not col.nullable:
        out.append(problem(f"{v} is null", "missing_value", lit(f"column {name} is empty")))
    if col.kind == "person":
        out.append(
            problem(
                f"{v} is not null and {t} is null",
                "unknown_employee",
                lit(f"column {name}: the employee is not in hr/employees.csv"),
            )
        )
    if col.kind in _CAST_HINT:
        out.append(
            problem(
                f"{v} is not null and {t} is null",
                "invalid_type",
                lit(f"column {name}: the value is not {_CAST_HINT[col.kind]}"),
            )
        )
    if col.accepted:
        allowed = ", ".join(lit(a) for a in col.accepted)
        out.append(
            problem(
                f"{t} is not null and {t} not in ({allowed})",
                "not_accepted",
                lit(f"column {name}: the value is not one of {'|'.join(col.accepted)}"),
            )
        )
    if col.low is not None and col.high is not None:
        out.append(
            problem(
                f"{t} not between {col.low} and {col.high}",
                "out_of_range",
                f"'column {name}: ' || {t} || ' is outside {col.low}–{col.high}'",
            )
        )
    if col.event_time:
        out.append(window.problem(t, f"column {name}"))
    return out


def _stage(con: duckdb.DuckDBPyConnection, parsed: CsvFile) -> None:
    """The well-formed records as ``_sp_csv``: their first line and their values as
    text (Arrow reads the canonical CSV that ``records`` made of them)."""
    types = {_LINE: pa.int64(), **dict.fromkeys(parsed.header, pa.string())}
    if parsed.good:
        longest = max(map(len, parsed.good))
        table = pacsv.read_csv(
            pa.BufferReader(b"\n".join(parsed.good)),
            read_options=pacsv.ReadOptions(
                column_names=list(types), block_size=max(1 << 22, 2 * longest + 1024)
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    else:
        table = pa.schema(list(types.items())).empty_table()
    con.register("_sp_csv_arrow", table)
    try:
        con.execute("create or replace temp table _sp_csv as select * from _sp_csv_arrow")
    finally:
        con.unregister("_sp_csv_arrow")


def load_csv_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    result: FileResult,
    loaded_at: datetime,
    limits: IngestLimits,
    accepted: bool = False,
) -> FileResult:
    """``accepted``: a snapshot held as ``suspect_truncated`` that ``skillpath ingest
    --accept`` confirmed is applied whatever it removes."""
    parsed = read_csv_records(file.path, limits.max_record_bytes, file.relative)
    if parsed.header_problem is not None:
        return quarantine_file(
            con,
            result,
            parsed.rows_in,
            "unreadable_file",
            f"{parsed.header_problem}; export it again as a UTF-8 CSV file with a header row",
        )
    by_name = {h.lower(): h for h in parsed.header}
    missing = [c.name for c in source.columns if c.required and c.name not in by_name]
    if missing:
        return quarantine_file(
            con,
            result,
            parsed.rows_in,
            "missing_column",
            _missing_columns(source, missing, by_name),
        )
    bad = parsed.bad
    _stage(con, parsed)
    known = {c.name for c in source.columns} | set(source.ignored_columns)
    extras = [n for n in by_name if n not in known]
    kept = [n for n in extras if not PERSONAL_COLUMN.search(n)]
    dropped = [n for n in extras if PERSONAL_COLUMN.search(n)]
    result.rows_in = parsed.rows_in
    _type_rows(con, source, by_name, kept, limits.window(file.delivered_at))
    result.rows_erased = _drop_erased(con, source)

    absence = snapshot.stage_absent(con, source) if snapshot.retires(source) else None
    if absence and absence.share > limits.max_absent_share and not accepted:
        return _hold(con, result, source, absence, limits)
    raw_columns = [name for name, _ in RAW_TABLES[source.table]]
    content = [ident(c) for c in raw_columns if not c.startswith("_")]
    resolve_outcomes(con, source.table, source.key, content, immutable=False)
    insert_loaded(con, source.table, file, loaded_at)
    _quarantine_rows(con, source, file, bad)
    if source.identifies_persons:
        _record_identities(con)
    tally(con, result, OUTCOME, Counter(r.problem.code for r in bad))
    notes = [result.message] if result.message else []
    if result.rows_erased:
        notes.append(suppression.NOTE.format(result.rows_erased))
    if absence and absence.absent:
        notes.append(_retired(con, source, file, loaded_at, absence, unreadable=len(bad)))
    if kept:
        notes.append(f"extra column(s) kept in _extra: {', '.join(kept)}")
    if dropped:
        notes.append(f"extra column(s) dropped as personal data: {', '.join(dropped)}")
    result.message = "; ".join(notes)
    return result


def _missing_columns(source: Source, missing: list[str], by_name: dict[str, str]) -> str:
    """What the header lacks. Only the header's names that this source knows are named:
    a file without a header has a row of data in its place, which may name a person."""
    known = {c.name for c in source.columns} | set(source.ignored_columns)
    found = [n for n in by_name if n in known]
    others = len(by_name) - len(found)
    return (
        f"missing required column(s) {', '.join(missing)}; the first line has "
        f"{len(by_name)} value(s): {', '.join(found) or 'none'} known"
        + (f", {others} other(s) not named here (is the header row missing?)" if others else "")
        + "; add the columns to the export and drop the file in again"
    )


def _type_rows(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    by_name: dict[str, str],
    kept: list[str],
    window: TimeWindow,
) -> None:
    """``_sp_typed`` from ``_sp_csv``: every value typed and checked (dedup.TYPED)."""
    hr_file = source.identifies_persons
    selects, problems, texts = [], [], []
    for col in source.columns:
        v = f"nullif(trim(c.{ident(by_name[col.name])}), '')" if col.name in by_name else "null"
        texts.append(f"({v})::varchar as {ident('_v_' + col.name)}")
        if col.raw_name is None:
            continue
        t = _typed(col, v, hr_file)
        selects.append(f"({t})::{col.raw_type} as {ident(col.raw_name)}")
        problems.extend(_problems(col, v, t, window))
    extra = (
        "json_object(" + ", ".join(f"{lit(n)}, c.{ident(by_name[n])}" for n in kept) + ")"
        if kept
        else "null"
    )
    person = next((c for c in source.columns if c.kind == "person"), None)
    join = (
        f"left join published.employee_directory _dir "
        f"on _dir.employee_id = nullif(trim(c.{ident(by_name[person.name])}), '')"
        if person and not hr_file
        else ""
    )
    con.execute(
        f"""
        create or replace temp table {TYPED} as
        select c.{ident(_LINE)} as line_no, {", ".join(selects)}, {extra}::varchar as _extra,
               {problems_list(problems)} as problems, {", ".join(texts)}
        from _sp_csv c {join}
        """
    )


def _drop_erased(con: duckdb.DuckDBPyConnection, source: Source) -> int:
    """Drop the rows of erased persons (``suppression``) and clear references to them
    in the others; returns the rows dropped. HR's export is matched by employee id and
    e-mail, another source by the employee id of a row whose employee is unknown."""
    person = next((c for c in source.columns if c.kind == "person"), None)
    if person is None:
        return 0
    if source.identifies_persons:
        identifiers = [suppression.Identifier("person_key", suppression.PERSON_KEY)]
        identifiers += [
            suppression.Identifier("_v_" + c.name, suppression.EMAIL)
            for c in source.columns
            if c.kind == "email"
        ]
    else:
        identifiers = [
            suppression.Identifier(
                "_v_" + person.name, suppression.EMPLOYEE_ID, where="person_key is null"
            )
        ]
    erased = suppression.drop_erased(con, TYPED, identifiers)
    for ref in (c for c in source.columns if c.kind == "person_ref"):
        suppression.clear_references(con, TYPED, ref.raw_name or ref.name, "_v_" + ref.name)
    return erased


def _hold(
    con: duckdb.DuckDBPyConnection,
    result: FileResult,
    source: Source,
    absence: snapshot.Absence,
    limits: IngestLimits,
) -> FileResult:
    noun = snapshot.NOUN[source.retire]
    return quarantine_file(
        con,
        result,
        result.rows_in,
        "suspect_truncated",
        f"{absence.absent} of {absence.current} {noun} ({absence.share:.0%}) are absent from "
        f"this delivery, more than ingest.snapshot_max_absent_share "
        f"({limits.max_absent_share:.0%}): it looks truncated, so nothing of it was applied. "
        f"If they are really gone, confirm with: skillpath ingest --accept {result.file}; "
        "otherwise deliver a complete export",
        status=HELD,
    )


def _retired(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    loaded_at: datetime,
    absence: snapshot.Absence,
    unreadable: int,
) -> str:
    """Retire the keys absent from this snapshot, unless some of its lines could not be
    read: who is in them is unknown, and nobody leaves on a broken line."""
    noun = snapshot.NOUN[source.retire]
    if unreadable:
        return (
            f"{absence.absent} {noun} absent from this delivery were NOT retired: "
            f"{unreadable} line(s) could not be read and may hold them; fix the export"
        )
    count = snapshot.retire_absent(con, source, file.relative, loaded_at, file.delivered_at)
    what = {"leaver": "marked as leavers", "inactive": "marked inactive"}.get(
        source.retire, "removed"
    )
    return f"{count} {noun} absent from this delivery {what}"


def _payload(source: Source) -> str:
    """The quarantined row as JSON, pseudonymised: employee ids become person keys,
    e-mail and names are left out."""
    parts = []
    for col in source.columns:
        v = ident("_v_" + col.name)
        if col.kind == "email":
            continue
        value = f"sp_person_key({v})" if col.kind in ("person", "person_ref") else v
        parts.append(f"{lit(col.raw_name or col.name)}, {value}")
    parts.append("'_extra', _extra::json")
    return f"json_object({', '.join(parts)})"


def _quarantine_rows(
    con: duckdb.DuckDBPyConnection, source: Source, file: LandingFile, unreadable: list[Record]
) -> None:
    keys = ", ".join(source.key)
    con.execute(
        f"""
        insert into audit.quarantine
        select {lit(source.table)}, {lit(file.relative)}, line_no, {_payload(source)},
               reason_code,
               {lit(file.relative)} || ' line ' || line_no || ': ' || case
                   when reason_code = 'conflicting_duplicate' then
                       'the key ({keys}) appears earlier in this file with different values; '
                       || 'keep one version of the row'
                   else {problems_message("problems")}
               end,
               now()::timestamp
        from {OUTCOME} where outcome = 'quarantined' order by line_no
        """
    )
    if unreadable:
        con.executemany(
            "insert into audit.quarantine values (?, ?, ?, null, ?, ?, now())",
            [
                [source.table, file.relative, r.line, declared(r.problem.code), r.problem.message]
                for r in unreadable
            ],
        )


def _record_identities(con: duckdb.DuckDBPyConnection) -> None:
    """The employee directory (person key ↔ employee id, for HR's export) and keyed
    hashes of each e-mail address and of its ``mbox_sha1sum`` (for xAPI ``mbox`` and
    ``mbox_sha1sum`` actors); only from rows that passed validation."""
    con.execute(
        """
        insert into published.employee_directory
        select distinct person_key, _v_employee_id from _sp_outcome o
        where outcome <> 'quarantined'
          and not exists (select 1 from published.employee_directory d
                          where d.person_key = o.person_key)
        """
    )
    con.execute(
        """
        insert into audit.person_identity
        select distinct person_key, h.email_hash
        from _sp_outcome o,
             unnest([sp_email_hash(o._v_email), sp_email_sha1sum_hash(o._v_email)])
                 as h(email_hash)
        where outcome <> 'quarantined' and _v_email is not null
          and not exists (select 1 from audit.person_identity i
                          where i.person_key = o.person_key and i.email_hash = h.email_hash)
        """
    )
