"""One CSV landing file → its raw table. DuckDB reads the file (BOM, CRLF, quoting),
rows it cannot parse come back as rejects with their line; every value is then typed
and checked in one SQL statement built from the source's column specs."""

from __future__ import annotations

from datetime import datetime

import duckdb

from skillpath.ingest.dedup import (
    OUTCOME,
    TYPED,
    insert_loaded,
    ordinal,
    resolve_outcomes,
)
from skillpath.ingest.landing import LandingFile
from skillpath.ingest.ledger import FileResult, quarantine_file, tally
from skillpath.ingest.reasons import declared
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


def _problems(col: Column, v: str, t: str) -> list[str]:
    """Checks of one column, in the order an engineer would fix them. Values of person
    columns are never quoted in messages."""
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
                f"'column {name}: ' || {_quoted(v)} || ' is not {_CAST_HINT[col.kind]}'",
            )
        )
    if col.accepted:
        allowed = ", ".join(lit(a) for a in col.accepted)
        out.append(
            problem(
                f"{t} is not null and {t} not in ({allowed})",
                "not_accepted",
                f"'column {name}: ' || {_quoted(v)} || ' is not one of {'|'.join(col.accepted)}'",
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
    return out


def _read(con: duckdb.DuckDBPyConnection, file: LandingFile) -> tuple[list[str], list[tuple]]:
    """Read the file into ``_sp_csv`` (all text); return its header and rejected lines
    (line, error type, DuckDB's message)."""
    con.execute("drop table if exists _sp_rejects")
    con.execute("drop table if exists _sp_rejects_scan")
    con.execute(
        f"""
        create or replace temp table _sp_csv as
        select * from read_csv({lit(str(file.path))}, all_varchar = true, header = true,
            delim = ',', quote = '"', escape = '"', encoding = 'utf-8',
            normalize_names = false, store_rejects = true,
            rejects_table = '_sp_rejects', rejects_scan = '_sp_rejects_scan')
        """
    )
    header = [d[0] for d in con.execute("select * from _sp_csv limit 0").description]
    rejects = con.execute(
        "select line, any_value(error_type), any_value(error_message) from _sp_rejects "
        "group by line order by line"
    ).fetchall()
    return header, rejects


def _count_data_lines(file: LandingFile) -> int:
    with file.path.open("rb") as fh:
        return max(sum(1 for line in fh if line.strip()) - 1, 0)


def _line_numbers(con: duckdb.DuckDBPyConnection, good: int, rejects: list[tuple]) -> str:
    """SQL for the physical line of good row ``k`` (0-based): the header is line 1 and
    rejected lines are skipped. Exact unless a quoted value spans several lines."""
    if not rejects:
        return "k + 2"
    last = good + len(rejects) + 1
    reject_lines = ", ".join(str(int(r[0])) for r in rejects)
    con.execute(
        f"""
        create or replace temp table _sp_lines as
        select (row_number() over (order by l) - 1)::bigint as k, l as line
        from range(2, {last + 1}) t(l) where l not in ({reject_lines})
        """
    )
    return "(select line from _sp_lines where _sp_lines.k = c.k)"


def load_csv_file(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: LandingFile,
    result: FileResult,
    loaded_at: datetime,
) -> FileResult:
    try:
        header, rejects = _read(con, file)
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        return quarantine_file(
            con,
            result,
            _count_data_lines(file),
            "unreadable_file",
            f"cannot be read as a UTF-8 CSV file with a header row ({first}); "
            "export it again as UTF-8 CSV",
        )
    by_name = {h.strip().lstrip("\ufeff").lower(): h for h in header}
    good = con.execute("select count(*) from _sp_csv").fetchone()[0]
    rows_in = good + len(rejects)
    missing = [c.name for c in source.columns if c.required and c.name not in by_name]
    if missing:
        return quarantine_file(
            con,
            result,
            rows_in,
            "missing_column",
            f"missing required column(s) {', '.join(missing)} (header has: "
            f"{', '.join(by_name)}); add them to the export and drop the file in again",
        )
    known = {c.name for c in source.columns} | set(source.ignored_columns)
    extras = [n for n in by_name if n not in known]
    kept = [n for n in extras if not PERSONAL_COLUMN.search(n)]
    dropped = [n for n in extras if PERSONAL_COLUMN.search(n)]
    result.rows_in = rows_in

    hr_file = source.identifies_persons
    selects, problems, texts = [], [], []
    for col in source.columns:
        v = f"nullif(trim(c.{ident(by_name[col.name])}), '')" if col.name in by_name else "null"
        texts.append(f"({v})::varchar as {ident('_v_' + col.name)}")
        if col.raw_name is None:
            continue
        t = _typed(col, v, hr_file)
        selects.append(f"({t})::{col.raw_type} as {ident(col.raw_name)}")
        problems.extend(_problems(col, v, t))
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
    line = _line_numbers(con, good, rejects)
    con.execute(
        f"""
        create or replace temp table {TYPED} as
        select {line} as line_no, {", ".join(selects)}, {extra}::varchar as _extra,
               {problems_list(problems)} as problems, {", ".join(texts)}
        from (select {ordinal("_sp_csv")} as k, * from _sp_csv) c {join}
        """
    )
    raw_columns = [name for name, _ in RAW_TABLES[source.table]]
    content = [ident(c) for c in raw_columns if not c.startswith("_")]
    resolve_outcomes(con, source.table, source.key, content, immutable=False)
    insert_loaded(con, source.table, file, loaded_at)
    _quarantine_rows(con, source, file, rejects)
    if hr_file:
        _record_identities(con)
    tally(con, result, OUTCOME)
    result.reasons.update({declared("malformed_row"): len(rejects)} if rejects else {})
    result.rows_quarantined += len(rejects)
    if rejects or kept or dropped:
        notes = [result.message] if result.message else []
        if rejects:
            notes.insert(0, f"{len(rejects)} line(s) could not be parsed as CSV (malformed_row)")
            result.status = "partial"
        if kept:
            notes.append(f"extra column(s) kept in _extra: {', '.join(kept)}")
        if dropped:
            notes.append(f"extra column(s) dropped as personal data: {', '.join(dropped)}")
        result.message = "; ".join(notes)
    return result


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
    con: duckdb.DuckDBPyConnection, source: Source, file: LandingFile, rejects: list[tuple]
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
    for line, error_type, message in rejects:
        con.execute(
            "insert into audit.quarantine values (?, ?, ?, null, ?, ?, now())",
            [
                source.table,
                file.relative,
                line,
                declared("malformed_row"),
                f"{file.relative} line {line}: {error_type.lower().replace('_', ' ')} "
                f"({message}); fix the quoting or the number of fields of that line",
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
