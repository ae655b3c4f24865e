"""Deciding each row's fate once it is typed and checked: loaded, duplicate (of an
earlier row of the file or of the stored version of its natural key) or quarantined,
then writing the loaded rows. Shared by the CSV and xAPI loaders so both follow the
same rules.

Content fingerprints are only computed for rows whose key occurs twice in the file or
is already stored: re-loading a million new statements should not hash a million rows.
Only those contested rows are materialised; ``_sp_outcome`` is a view over the typed
rows, so the wide rows (payloads) are not copied once more before they are written.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from skillpath.ingest.landing import LandingFile
from skillpath.ingest.sql import ident, outcome_columns
from skillpath.warehouse import RAW_TABLES, qualified, table_schema

TYPED = "_sp_typed"  # one row per input row: line_no, problems, raw columns, ...
OUTCOME = "_sp_outcome"
_CONTESTED = "_sp_contested"  # rows whose key is repeated in the file or already stored


def _fingerprint(content: list[str]) -> str:
    """A hash over typed values: the same row exported twice, with other formatting or
    key order, gets the same fingerprint."""
    return "md5(to_json([" + ", ".join(f"({c})::varchar" for c in content) + "]))"


def resolve_outcomes(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    key: tuple[str, ...],
    content: list[str],
    immutable: bool,
    typed: str = TYPED,
) -> None:
    """Define ``_sp_outcome`` over ``typed`` (a table or a view with the columns of
    ``_sp_typed``): every input row with ``outcome`` and ``reason_code``. ``content``
    are SQL expressions, valid on both the typed rows and the raw table, whose values
    make two versions of a key equal."""
    keys = ", ".join(ident(c) for c in key)
    on = " and ".join(f"t.{ident(c)} = c.{ident(c)}" for c in key)
    fp = _fingerprint(content)
    con.execute(
        f"""
        create or replace temp table {_CONTESTED} as
        with valid as (select {keys} from {typed} where len(problems) = 0),
        stored_keys as (
            select distinct {keys} from {qualified(raw_table)} semi join valid using ({keys})
        ),
        contested as (
            select {keys} from valid group by all having count(*) > 1
            union select * from stored_keys
        ),
        candidates as (
            select line_no, {keys}, {fp} as fp from {typed}
            semi join contested using ({keys}) where len(problems) = 0
        ),
        ranked as (
            select *,
                   row_number() over (partition by {keys} order by line_no) as rank_in_file,
                   first_value(fp) over (partition by {keys} order by line_no) as first_fp
            from candidates
        ),
        existing as (
            select * exclude (version_rank) from (
                select {keys}, {fp} as existing_fp,
                       row_number() over (
                           partition by {keys} order by _loaded_at desc, _source_file desc
                       ) as version_rank
                from {qualified(raw_table)} semi join stored_keys using ({keys})
            ) where version_rank = 1
        ),
        select r.line_no, r.rank_in_file, r.fp, r.first_fp, e.existing_fp
        from ranked r left join existing e on {on.replace("c.", "r.").replace("t.", "e.")}
        """
    )
    con.execute(
        f"""
        create or replace temp view {OUTCOME} as
        select t.*, coalesce(c.rank_in_file, 1) as rank_in_file, c.fp, c.first_fp,
               c.existing_fp, {outcome_columns(immutable)}
        from {typed} t left join {_CONTESTED} c using (line_no)
        """
    )


def insert_loaded(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    file: LandingFile,
    loaded_at: datetime,
) -> None:
    """Append the loaded rows in file order, with their lineage (``_source_file``,
    ``_loaded_at``: one load of one file is one version) bound as parameters. Table and
    column names come from ``warehouse.RAW_TABLES`` only."""
    columns = [name for name, _ in RAW_TABLES[raw_table]]
    lineage = {"_source_file": "$source_file", "_loaded_at": "$loaded_at::timestamp"}
    select = ", ".join(lineage.get(c, ident(c)) for c in columns)
    names = ", ".join(ident(c) for c in columns)
    con.execute(
        f"insert into {table_schema(raw_table)}.{ident(raw_table)} ({names}) "
        f"select {select} from {OUTCOME} where outcome = 'loaded' order by line_no",
        {"source_file": file.relative, "loaded_at": loaded_at},
    )


def ordinal(table: str) -> str:
    """0-based position of a row in a table just created from a file. Rows written
    inside a transaction get row ids from a high base, so subtract the first one."""
    return f"(rowid - (select min(rowid) from {table}))"
