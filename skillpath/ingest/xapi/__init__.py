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
from dataclasses import dataclass
from datetime import datetime

import duckdb

from skillpath.ingest.landing import LandingFile
from skillpath.ingest.ledger import FileResult, quarantine_file
from skillpath.ingest.sql import lit, problem, problems_list
from skillpath.ingest.xapi import actors
from skillpath.ingest.xapi.fields import VOIDED, duration_seconds, typed_sql
from skillpath.ingest.xapi.load import apply_voiding_and_catalog, load_checked
from skillpath.ingest.xapi.payload import payload_sql, statement_uuid
from skillpath.ingest.xapi.reader import LINES, NUMBERED_LINES, read_error, read_lines
from skillpath.ingest.xapi.rules import of_statements, problems_sql, sub_statement_rules
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


def _checked_sql(validate: bool) -> str:
    """``_sp_x``: every statement checked, cleaned and its actor looked up in one pass
    over the lines (dedup.TYPED's columns); persons as ``actors`` matches them."""
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
               {problems_sql()} as problems,
               case when valid then {payload_sql()}
                    else '{{"bytes":' || strlen(line) || '}}' end
                   as payload
        from (
            select t.*,
                   coalesce(id_value, case when valid and j_id is null
                                           then sp_statement_uuid(line) end) as statement_id,
                   {actors.PERSON_KEY} as person_key
            from ({typed_sql(validate)}) t {actors.PERSON_JOINS}
        )
        """


def _check_statements(con: duckdb.DuckDBPyConnection) -> None:
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
            con.execute(_checked_sql(validate=False))
            checked = True
    if not checked:
        con.execute(_checked_sql(validate=True))
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
    """A statement file read and checked into temp tables, or why it cannot be read."""

    unit: str = "line"  # what a row number counts: 'line' or 'element' (of an array)
    unreadable: str | None = None


def stage_statement_file(con: duckdb.DuckDBPyConnection, file: LandingFile) -> StagedFile:
    """Read and check a statement file into ``_sp_x``: temp tables only, so the runner
    does this before the file's transaction, where a failed query
    (``_check_statements``) would abort it."""
    try:
        unit = read_lines(con, file)
    except (duckdb.Error, OSError, EOFError) as exc:
        return StagedFile(unreadable=read_error(exc))
    actors.stage_persons(con)
    _check_statements(con)
    con.execute(f"drop table {LINES}")  # a file's text need not stay in memory
    return StagedFile(unit)


def load_statement_file(
    con: duckdb.DuckDBPyConnection,
    file: LandingFile,
    staged: StagedFile,
    result: FileResult,
    loaded_at: datetime,
) -> FileResult:
    """Load a staged file (``stage_statement_file``): inside the file's transaction."""
    if staged.unreadable is not None:
        return quarantine_file(
            con,
            result,
            1,
            "malformed_json",
            "cannot be read as JSON lines or a JSON array of statements "
            f"({staged.unreadable}); export it again as UTF-8 JSON",
        )
    return load_checked(con, _TYPED, file, staged.unit, result, loaded_at)
