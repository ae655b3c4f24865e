"""Reading a statement export into ``_sp_lines`` (one text per statement, in file
order), whatever shape the LRS or LMS wrote: JSON lines, a JSON array, a
StatementResult page of GET /statements, or one pretty-printed statement; gzipped or
not. Nothing here knows xAPI beyond telling a StatementResult from a statement."""

from __future__ import annotations

import gzip
import re

import duckdb

from skillpath.ingest.dedup import ordinal
from skillpath.ingest.landing import LandingFile

LINES = "_sp_lines"  # the file's statements (column ``line``), in file order

# The lines of the statement file with their 1-based numbers.
NUMBERED_LINES = f"select {ordinal(LINES)} + 1 as line_no, line from {LINES}"

# The longest line or JSON value read (bytes): a StatementResult page exported on one
# line easily passes the readers' defaults (2 MiB lines, 16 MiB objects). Costs nothing.
_MAX_TEXT = 1 << 30


def _first_char(file: LandingFile) -> str:
    opener = gzip.open if file.gzipped else open
    with opener(file.path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1].decode("latin-1")


class BrokenDocument(ValueError):
    """A JSON array or document (StatementResult page, pretty-printed statement) that
    DuckDB cannot parse: its statements are to be salvaged (``salvage``)."""


def is_array(file: LandingFile) -> bool:
    return file.path.name.lower().endswith((".json", ".json.gz")) and _first_char(file) == "["


def read_lines(con: duckdb.DuckDBPyConnection, file: LandingFile) -> str:
    """Load the file into ``_sp_lines`` (line), in file order; return 'line' or
    'element' (what a row number counts). A ``.json`` file may also be one JSON document
    (``_read_document``). Raises ``BrokenDocument`` for an array or document that does
    not parse."""
    path = str(file.path)
    name = file.path.name.lower()
    first = _first_char(file) if name.endswith((".json", ".json.gz")) else ""
    if first == "[":
        read_array(con, path)
        return "element"
    # Not parallel: splitting lines is no faster on two threads, only busier, and
    # the other core is better spent hashing the next file (runner).
    con.execute(
        f"""
        create or replace temp table {LINES} as
        select line from read_csv($path, columns = {{'line': 'VARCHAR'}}, header = false,
            delim = '\\x1f', quote = '', escape = '', auto_detect = false,
            new_line = '\\r\\n', strict_mode = false, null_padding = true, parallel = false,
            max_line_size = {_MAX_TEXT})
        """,
        {"path": path},
    )
    if first == "{" and _read_document(con, path):
        return "element"
    return "line"


def read_array(con: duckdb.DuckDBPyConnection, path: str) -> None:
    try:
        con.execute(
            f"""
            create or replace temp table {LINES} as
            select json::varchar as line
            from read_json($path, format = 'array', records = false,
                           columns = {{'json': 'JSON'}}, maximum_object_size = {_MAX_TEXT})
            """,
            {"path": path},
        )
    except duckdb.Error as exc:
        raise BrokenDocument(read_error(exc)) from exc


def _is_statement_result(json_text: str) -> str:
    """Whether a JSON value is a StatementResult rather than a statement."""
    return (
        f"(json_type({json_text}, '$.statements') = 'ARRAY' "
        f"and json_type({json_text}, '$.actor') is null)"
    )


def _read_document(con: duckdb.DuckDBPyConnection, path: str) -> bool:
    """Replace ``_sp_lines`` by the statements of a ``.json`` file that is one JSON
    document rather than a statement per line: a pretty-printed statement, or what an
    LRS answers to GET /statements and exports page by page, a StatementResult
    ``{"statements": [...], "more": "..."}`` (xAPI 1.0.3 §2.5). The lines tell: a
    document's first line is no JSON value of its own and neither is its second
    (pretty-printed: JSON lines whose first line is broken have a good second one), or
    it is a StatementResult. Should the document not parse, ``BrokenDocument`` is
    raised. Returns whether the file was a document."""
    [(document,)] = con.execute(
        f"""
        with first_lines as (
            select line, row_number() over (order by rowid) as n from (
                select rowid, line from {LINES} where trim(line) <> '' order by rowid limit 2
            )
        )
        select case when json_valid(f.line) then {_is_statement_result("f.line")}
                    else s.line is not null and not json_valid(s.line) end
        from first_lines f left join first_lines s on s.n = 2
        where f.n = 1
        """
    ).fetchall()
    if not document:
        return False
    try:
        con.execute(
            f"""
            create or replace temp table _sp_document as
            select unnest(case when {_is_statement_result("json")}
                               then json_extract(json, '$.statements[*]')
                               else [json] end)::varchar as line
            from read_json($path, format = 'unstructured', records = false,
                           columns = {{'json': 'JSON'}}, maximum_object_size = {_MAX_TEXT})
            """,
            {"path": path},
        )
    except duckdb.Error as exc:
        raise BrokenDocument(read_error(exc)) from exc
    con.execute(f"create or replace temp table {LINES} as from _sp_document")
    con.execute("drop table _sp_document")
    return True


def read_error(exc: BaseException) -> str:
    """The reader's first line (the later ones quote the file's text, which may name a
    person), and what it means when the text is no UTF-8."""
    first = str(exc).strip().splitlines()[0]
    line = re.search(r"Line: (\d+)", first)
    if line and "not utf-8 encoded" in str(exc).lower():
        return f"line {line.group(1)} is not UTF-8 text"
    return first
