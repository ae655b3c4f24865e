"""One xAPI 1.0.3 statement export → ``raw.lms_statements``, with the rules an LRS
applies (https://github.com/adlnet/xAPI-Spec/blob/1.0.3/xAPI-Data.md).

The file is read by DuckDB as text lines (JSON lines) or as array elements, every
statement is parsed once (``json_extract`` with a list of paths) and all rules are SQL
expressions over the extracted fragments, so a million statements never meet a Python
loop. Liberal where the spec is (objectType defaults, extra properties, partial scores,
offsets and fractions in timestamps), strict where it is not.

Throughput comes from touching the wide data (lines, payloads) as few times as possible
and from computing nothing per row that only a few rows need: the lines are stored once
(their row ids are the line numbers), one query parses each once, types, checks, cleans
them and looks their actors up, and dedup only materialises the contested rows
(docs/benchmarks.md has the figures). That query runs before the file's transaction
(``stage_statement_file``), which then only deduplicates and writes.

The package, by concern: ``reader`` (file shapes → one text per statement), ``fields``
(the one parse, typed values), ``rules`` (xAPI 1.0.3 as SQL conditions and reason
codes), ``actors`` (actor → employee), ``payload`` (what is stored, without persons),
``load`` (dedup and writes inside the file's transaction). This module stages and loads
one file; ``runner`` overlaps the staging of the next file with the load of this one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from skillpath.ingest import suppression
from skillpath.ingest.landing import LandingFile
from skillpath.ingest.ledger import FileResult, quarantine_file
from skillpath.ingest.limits import IngestLimits, TimeWindow
from skillpath.ingest.records import Problem, Record
from skillpath.ingest.sql import lit, problem, problems_list
from skillpath.ingest.xapi import actors
from skillpath.ingest.xapi.census import Census, chunks, take_census, write_readable
from skillpath.ingest.xapi.fields import VOIDED, duration_seconds, typed_sql
from skillpath.ingest.xapi.load import apply_voiding_and_catalog, load_checked
from skillpath.ingest.xapi.payload import payload_sql, statement_uuid
from skillpath.ingest.xapi.reader import (
    LINES,
    NUMBERED_LINES,
    BrokenDocument,
    is_array,
    read_error,
    read_lines,
)
from skillpath.ingest.xapi.rules import (
    limit_rules,
    of_statements,
    problems_sql,
    sub_statement_rules,
)
from skillpath.ingest.xapi.salvage import json_depth, salvage
from skillpath.privacy import define_function

__all__ = [
    "StagedFile",
    "apply_voiding_and_catalog",
    "load_statement_file",
    "register_functions",
    "stage_statement_file",
]

_TYPED = "_sp_x"  # the typed rows (dedup.TYPED's columns) of a statement file


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    define_function(con, "sp_statement_uuid", statement_uuid)
    define_function(con, "sp_json_depth", json_depth)


def _too_deep(max_depth: int) -> str:
    """Whether a statement nests deeper than ``max_depth``: counted (in Python) only for
    the rare statement long enough and with brackets enough to."""
    brackets = "strlen(line) - strlen(replace(replace(line, '{', ''), '[', ''))"
    return (
        f"case when valid and strlen(line) > {2 * max_depth} and {brackets} > {max_depth} "
        f"then sp_json_depth(line)::integer > {max_depth} else false end"
    )


def _checked_sql(validate: bool, limits: IngestLimits, window: TimeWindow) -> str:
    """``_sp_x``: every statement checked, cleaned and its actor looked up in one pass
    over the lines (dedup.TYPED's columns); persons as ``actors`` matches them."""
    checks = limit_rules(limits.max_record_bytes, limits.max_json_depth, window)
    return f"""
        create or replace temp table {_TYPED} as
        select line_no, valid, statement_id, person_key, verb as verb_id,
               case when object_kind in ('Activity', 'StatementRef') then object end
                   as object_id,
               object_id in (select content_id from raw.lms_catalog) as object_in_catalog,
               registration, coalesce(ts, stored_ts) as timestamp, stored_ts as stored,
               scaled as result_score_scaled, score_raw as result_score_raw,
               score_min as result_score_min, score_max as result_score_max,
               success as result_success, completion as result_completion,
               case when duration_valid
                    then {duration_seconds("duration_parts")} end as result_duration_seconds,
               progress_pct / 100.0 as progress,
               false as voided,
               case when verb = {lit(VOIDED)} and object_kind = 'StatementRef'
                    then try_cast(object as uuid)::varchar end as voids_statement_id,
               object_kind = 'SubStatement' as sub_statement,
               {problems_sql(checks)} as problems,
               case when valid then {payload_sql()}
                    else '{{"bytes":' || strlen(line) || '}}' end
                   as payload,
               {_UNMATCHED_ACTOR}
        from (
            select *,
                   coalesce(id_value, case when valid and j_id is null and not too_deep
                                           then sp_statement_uuid(line) end) as statement_id
            from (
                select t.*, {_too_deep(limits.max_json_depth)} as too_deep,
                       {actors.PERSON_KEY} as person_key
                from ({typed_sql(validate)}) t {actors.PERSON_JOINS}
            )
        )
        """


# The identifiers of an Agent that matched no employee, which the suppression list may
# name (an erased person is in no directory): ``_drop_erased`` checks only these.
_ACTOR_IDENTIFIERS = {
    "actor_account": ("account", suppression.EMPLOYEE_ID),
    "actor_email": ("email", suppression.EMAIL),
    "actor_sha1sum": ("sha1sum", suppression.SHA1SUM),
}
_UNMATCHED_ACTOR = ", ".join(
    f"case when person_key is null and actor_kind = 'Agent' then {field} end as {name}"
    for name, (field, _) in _ACTOR_IDENTIFIERS.items()
)


def _drop_erased(con: duckdb.DuckDBPyConnection) -> int:
    """Drop the statements of erased persons (``suppression``); returns how many."""
    return suppression.drop_erased(
        con,
        _TYPED,
        [suppression.Identifier(name, token) for name, (_, token) in _ACTOR_IDENTIFIERS.items()],
    )


def _check_statements(
    con: duckdb.DuckDBPyConnection, limits: IngestLimits, window: TimeWindow
) -> None:
    """``_sp_x`` from ``_sp_lines``, each line parsed once. Should a line that starts like
    an object not be JSON (a hand-edited export), the query fails and is repeated with
    every line validated first: such a file costs up to twice as much, every other file a
    parse per line less (a tenth of the query). An export cut off in its last line (the
    likeliest broken file) is validated right away."""
    [(last_is_json,)] = con.execute(
        f"select bool_and(json_valid(line)) from {LINES} "
        f"where rowid = (select max(rowid) from {LINES})"
    ).fetchall()
    checked = False
    if last_is_json is not False:
        with contextlib.suppress(duckdb.InvalidInputException):
            con.execute(_checked_sql(False, limits, window))
            checked = True
    if not checked:
        con.execute(_checked_sql(True, limits, window))
    _check_sub_statements(con)


def _check_sub_statements(con: duckdb.DuckDBPyConnection) -> None:
    """Statements whose object is a SubStatement break ``invalid_object`` when the
    SubStatement breaks a rule. Checked apart, and only when a file has any: they are
    rare (planned or proposed activity), and checking the object of every statement
    again would cost every file."""
    [(count,)] = con.execute(f"select count(*) from {_TYPED} where sub_statement").fetchall()
    if not count:
        return
    objects = f"""
        select line_no, json_extract(l.line, '$.object')::varchar as line
        from ({NUMBERED_LINES}) l
        where line_no in (select line_no from {_TYPED} where sub_statement)"""
    rules = [problem(*rule) for rule in of_statements(sub_statement_rules())]
    con.execute(
        f"""
        update {_TYPED}
        set problems = list_append(problems, {{
            'code': 'invalid_object',
            'msg': 'object: the SubStatement breaks a rule: ' || s.sub_problems[1].msg}})
        from (select line_no as sub_line_no, {problems_list(rules)} as sub_problems
              from ({typed_sql(validate=True, lines=objects)})) s
        where s.sub_line_no = {_TYPED}.line_no and len(s.sub_problems) > 0
        """
    )


@dataclass(frozen=True)
class StagedFile:
    """A statement file read and checked into temp tables, or why it cannot be read.

    ``rows_in`` is counted apart from what DuckDB read: the file's non-blank lines
    (``census``), or the elements ``salvage`` delimited; ``bad`` are rows quarantined
    before DuckDB saw them. ``lines`` (JSON lines only): the physical lines and the
    blank ones, to find any line the reader lost."""

    unit: str = "line"  # what a row number counts: 'line' or 'element' (of an array)
    unreadable: str | None = None
    rows_in: int | None = None  # None: as many as DuckDB delimited
    bad: tuple[Record, ...] = ()
    note: str | None = None  # about the whole file (a cut gzip stream)
    lines: tuple[int, tuple[int, ...]] | None = None  # (last line, blank lines)


def _scratch(directory: Path, suffix: str) -> Path:
    """A private scratch file beside the warehouse (it holds what the export holds)."""
    fd, name = tempfile.mkstemp(prefix=".staging-", suffix=suffix, dir=directory)
    os.close(fd)
    return Path(name)


def _salvaged(
    con: duckdb.DuckDBPyConnection, file: LandingFile, scratch: Path
) -> tuple[StagedFile, Census]:
    """An array or document DuckDB refused, read element by element (``salvage``)."""
    census = Census()
    data = b"".join(chunks(file.path, file.gzipped, census))
    salvaged = salvage(data, file.relative)
    copy = _scratch(scratch, ".jsonl")
    try:
        copy.write_text("\n".join(e or "" for e in salvaged.elements) + "\n", errors="strict")
        read_lines(con, LandingFile(copy, file.relative, file.modified))
    finally:
        copy.unlink(missing_ok=True)
    notes = [n for n in (census.cut, salvaged.note) if n]
    return (
        StagedFile(
            "element",
            rows_in=len(salvaged.elements),
            bad=tuple(salvaged.bad),
            note="; ".join(notes) or None,
        ),
        census,
    )


def _read_readable(
    con: duckdb.DuckDBPyConnection, file: LandingFile, census: Census, scratch: Path
) -> str:
    """Read the file, or the copy of it DuckDB can read (``census.write_readable``)."""
    if census.readable_as_is:
        return read_lines(con, file)
    suffix = ".json" if file.path.name.lower().endswith((".json", ".json.gz")) else ".jsonl"
    copy = _scratch(scratch, suffix)
    try:
        write_readable(file.path, file.gzipped, census, copy)
        return read_lines(con, LandingFile(copy, file.relative, file.modified))
    finally:
        copy.unlink(missing_ok=True)


def _read(con: duckdb.DuckDBPyConnection, file: LandingFile, scratch: Path) -> StagedFile:
    """``_sp_lines`` from whatever the file holds (see ``census`` and ``salvage``). The
    census leaves UTF-8 to DuckDB, and is taken again with it when DuckDB refuses."""
    census = take_census(file.path, file.gzipped, file.relative, utf8=False)
    try:
        if is_array(file) and not census.readable_as_is:
            raise BrokenDocument(census.cut or "lines DuckDB cannot read")
        try:
            unit = _read_readable(con, file, census, scratch)
        except duckdb.Error as exc:
            if "utf-8" not in str(exc).lower():
                raise
            census = take_census(file.path, file.gzipped, file.relative, utf8=True)
            unit = _read_readable(con, file, census, scratch)
    except BrokenDocument:
        return _salvaged(con, file, scratch)[0]
    if unit == "element":
        return StagedFile(unit, note=census.cut)
    cut = f"{census.cut}: its last line may be incomplete" if census.cut else None
    return StagedFile(
        unit,
        rows_in=census.lines,
        bad=tuple(census.bad),
        note=cut,
        lines=(census.last_line, tuple(census.blank)),
    )


def stage_statement_file(
    con: duckdb.DuckDBPyConnection, file: LandingFile, limits: IngestLimits, scratch: Path
) -> StagedFile:
    """Read and check a statement file into ``_sp_x``: temp tables only, so the runner
    does this before the file's transaction, where a failed query
    (``_check_statements``) would abort it. ``scratch``: a private directory for the
    readable copy of a file DuckDB cannot read as it is."""
    try:
        staged = _read(con, file, scratch)
    except (duckdb.Error, OSError, EOFError) as exc:
        return StagedFile(unreadable=read_error(exc))
    actors.stage_persons(con)
    _check_statements(con, limits, limits.window(file.delivered_at))
    con.execute(f"drop table {LINES}")  # a file's text need not stay in memory
    return staged


def _lost_lines(con: duckdb.DuckDBPyConnection, staged: StagedFile, relative: str) -> list[Record]:
    """Non-blank lines of a JSON-lines file that the reader delivered no row for: none,
    unless it split or merged lines where the census did not (every row must be
    accounted for, so they are quarantined)."""
    if staged.lines is None or staged.rows_in is None:
        return []
    [(checked,)] = con.execute(f"select count(*) from {_TYPED}").fetchall()
    if checked + len(staged.bad) == staged.rows_in:
        return []
    last, blank = staged.lines
    rows = con.execute(
        f"""
        select n from range(1, $last + 1) t(n)
        where n not in (select line_no from {_TYPED})
          and not list_contains($skip, n)
        order by n
        """,
        {"last": last, "skip": [*blank, *(r.line for r in staged.bad)]},
    ).fetchall()
    return [
        Record(
            n,
            Problem(
                "unreadable_line",
                f"{relative} line {n}: the line reader delivered nothing for this line; "
                "check it for control characters and export it again",
            ),
        )
        for (n,) in rows
    ]


def load_statement_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    staged: StagedFile,
    result: FileResult,
    loaded_at: datetime,
) -> FileResult:
    """Load a staged file (``stage_statement_file``): inside the file's transaction.
    ``rows_in`` is what DuckDB delivered plus what was quarantined before it (and any
    line it lost); a census that says otherwise is noted in the message."""
    if staged.unreadable is not None:
        return quarantine_file(
            con,
            result,
            staged.rows_in or 1,
            "malformed_json",
            "cannot be read as JSON lines or a JSON array of statements "
            f"({staged.unreadable}); export it again as UTF-8 JSON",
        )
    unreadable = [*staged.bad, *_lost_lines(con, staged, file.relative)]
    erased = _drop_erased(con)  # after _lost_lines: a dropped statement is not lost
    load_checked(con, _TYPED, file, staged.unit, result, loaded_at, unreadable, erased)
    notes = [f"{file.relative}: {staged.note}"] if staged.note else []
    if staged.rows_in is not None and result.rows_in != staged.rows_in:
        notes.append(
            f"the file has {staged.rows_in} non-blank lines, the reader delivered "
            f"{result.rows_in} rows"
        )
    if result.message:
        notes.append(result.message)
    if erased:
        notes.append(suppression.NOTE.format(erased))
    result.message = "; ".join(notes)
    return result
