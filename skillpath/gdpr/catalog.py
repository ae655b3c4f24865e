"""Where persons are in the warehouse, found from DuckDB's catalogue rather than listed,
so a table added later (a mart, an audit table, the restricted schema) cannot be
forgotten by erasure, access requests or the tests that scan for traces.

A table holds a person's rows when it has a ``person_key`` column; a few columns refer
to another person (``manager_key``); every other text column may at most mention a
person key in passing (a JSON figure, a message), which erasure masks.
"""

from __future__ import annotations

import duckdb

PERSON_COLUMN = "person_key"
REFERENCE_COLUMNS = ("manager_key",)
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


def _base_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """(schema, table, column, data type) of every base table of the open database."""
    placeholders = ", ".join("?" for _ in _SYSTEM_SCHEMAS)
    return con.execute(
        f"""select c.table_schema, c.table_name, c.column_name, c.data_type
            from information_schema.columns c
            join information_schema.tables t
              using (table_catalog, table_schema, table_name)
            where t.table_type = 'BASE TABLE'
              and c.table_catalog = current_database()
              and c.table_schema not in ({placeholders})
            order by c.table_schema, c.table_name, c.ordinal_position""",
        list(_SYSTEM_SCHEMAS),
    ).fetchall()


def person_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """``schema.table`` of every base table with a ``person_key`` column."""
    return sorted({f"{s}.{t}" for s, t, c, _ in _base_columns(con) if c == PERSON_COLUMN})


def reference_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(``schema.table``, column) of columns that name another person by key."""
    return [(f"{s}.{t}", c) for s, t, c, _ in _base_columns(con) if c in REFERENCE_COLUMNS]


def text_columns(con: duckdb.DuckDBPyConnection, without_persons: bool) -> list[tuple[str, str]]:
    """(``schema.table``, column) of every VARCHAR column; ``without_persons``: only of
    tables without a ``person_key`` column (whose rows belong to nobody in particular)."""
    columns = _base_columns(con)
    keyed = {(s, t) for s, t, c, _ in columns if c == PERSON_COLUMN}
    return [
        (f"{s}.{t}", c)
        for s, t, c, data_type in columns
        if data_type == "VARCHAR" and not (without_persons and (s, t) in keyed)
    ]
