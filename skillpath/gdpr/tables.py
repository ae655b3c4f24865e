"""The audit tables of erasure and retention: what was done, when and how much, never who.

``audit.erasures`` once held the erased person's key; ``ensure_gdpr_tables`` moves such
rows to the present layout, putting the person's token on the suppression list instead,
and leaves them pending so the next compaction removes the old key from the file too.
"""

from __future__ import annotations

import duckdb

from skillpath.privacy import person_token
from skillpath.publish.tables import ensure_publish_tables, table_exists
from skillpath.warehouse import create_table_sql

GDPR_TABLES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    # one row per erasure request (one id or a file of ids); completed_at is null until
    # the files are cleaned and the warehouse compacted (retried by the next command)
    ("audit", "erasures"): (
        ("erasure_id", "varchar"),
        ("kind", "varchar"),  # erasure | suppression (--suppress-only, nothing held)
        ("persons_erased", "bigint"),
        ("persons_suppressed", "bigint"),
        ("persons_already_erased", "bigint"),
        ("rows_deleted", "varchar"),  # JSON: table -> rows
        ("files_changed", "varchar"),  # JSON: what -> files
        ("requested_at", "timestamp"),
        ("completed_at", "timestamp"),
    ),
    # one row per retention run: the cutoff of each period and the rows it removed
    ("audit", "retention_runs"): (
        ("retention_id", "varchar"),
        ("cutoffs", "varchar"),  # JSON: period -> cutoff timestamp
        ("rows_removed", "varchar"),  # JSON: table -> rows
        ("started_at", "timestamp"),
        ("completed_at", "timestamp"),
    ),
}

ERASURE, SUPPRESSION = "erasure", "suppression"


def ensure_gdpr_tables(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    ensure_publish_tables(con)
    if _has_column(con, "audit", "erasures", "erased_person_key"):
        _migrate_erasures(con, key)
    for (schema, table), columns in GDPR_TABLES.items():
        con.execute(create_table_sql(schema, table, columns))


def _has_column(con: duckdb.DuckDBPyConnection, schema: str, table: str, column: str) -> bool:
    rows = con.execute(
        """select 1 from information_schema.columns
           where table_schema = ? and table_name = ? and column_name = ?""",
        [schema, table, column],
    ).fetchall()
    return bool(rows)


def _migrate_erasures(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """The layout before erasures stopped naming persons: each row's key becomes a token
    on the suppression list; the row keeps its time and counts and is left pending."""
    rows = con.execute("select erased_person_key, rows_deleted, erased_at from audit.erasures")
    old = rows.fetchall()
    con.execute("begin transaction")
    try:
        con.execute("drop table audit.erasures")
        con.execute(create_table_sql("audit", "erasures", GDPR_TABLES[("audit", "erasures")]))
        for person, rows_deleted, erased_at in old:
            token = person_token(person, key)
            con.execute(
                """insert into audit.erasure_suppression select ?
                   where not exists (select 1 from audit.erasure_suppression where token = ?)""",
                [token, token],
            )
            con.execute(
                """insert into audit.erasures (erasure_id, kind, persons_erased,
                       persons_suppressed, persons_already_erased, rows_deleted,
                       files_changed, requested_at, completed_at)
                   values (gen_random_uuid()::varchar, ?, 1, 0, 0, ?, '{}', ?, null)""",
                [ERASURE, rows_deleted, erased_at],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def pending(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether an erasure or retention run still waits for its files and compaction."""
    return any(
        table_exists(con, schema, table)
        and con.execute(
            f"select count(*) from {schema}.{table} where completed_at is null"
        ).fetchall()[0][0]
        for schema, table in GDPR_TABLES
    )
