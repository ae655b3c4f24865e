"""A SQLAlchemy engine on an open DuckDB connection, for Great Expectations.

great-expectations 1.24.1's SQL datasource, on duckdb-engine 0.17 with SQLAlchemy 2.1
and duckdb 2.0, fails in three ways; each has a small fix here, so GE evaluates its
metrics in the warehouse (no pandas) without a version change:

1. **Empty metrics** (``MetricResolutionError: list index out of range``). GE's
   ``SqlAlchemyExecutionEngine.execute_query`` returns the result after its
   ``with engine.connect()`` block has closed, and ``fetchall()`` comes later. Closing
   rolls back the SQLAlchemy connection; duckdb-engine runs every cursor on the one
   DuckDB connection it wraps, so that ROLLBACK replaces the pending result and the fetch
   finds no rows. Here each cursor is a DuckDB cursor of its own (``con.cursor()``: a
   new connection to the same database instance), so a rollback on the connection
   never touches a result.
2. **Table assets lose their schema** (``FROM t`` instead of ``FROM raw.t``).
   Reflection (``Inspector.get_columns``) fails: SQLAlchemy 2.1's PostgreSQL column
   query joins ``pg_catalog.pg_collation``, which DuckDB does not have, and GE's fallback
   then queries the bare table name. The dialect below reflects columns from
   ``duckdb_columns()``, with types DuckDB names them (VARCHAR, INTEGER, ...).
3. **"different configuration" when GE connects** while the warehouse connection is
   open: duckdb-engine opens the file again with its own config (a user agent), and
   DuckDB allows one configuration per database file in a process. Here SQLAlchemy
   never opens the file: its connections are cursors of the connection already open.

Cursors see what is committed: validate outside an open transaction of ``con``.

4. **"nanobind: leaked N instances" at interpreter exit**, after any import of
   duckdb-engine beside ``great_expectations.expectations``: duckdb-engine's module
   globals still reference DuckDB objects when DuckDB's bindings are torn down. An exit
   handler drops those globals first; it changes nothing while the process runs.
"""

from __future__ import annotations

import atexit
import gc
import sys
import weakref
from typing import Any

import duckdb
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper, CursorWrapper
from duckdb_engine import Dialect as _DuckDBDialect
from sqlalchemy import types as sqltypes

# DuckDB type name -> SQLAlchemy type of the same name, so GE's
# ``expect_column_values_to_be_of_type(type_="INTEGER")`` compares DuckDB's own names
# exactly (INTEGER is not BIGINT, DATE is not TIMESTAMP). Other types reflect as NullType,
# and an expectation naming them fails visibly.
_TYPES: dict[str, type[sqltypes.TypeEngine]] = {
    "VARCHAR": sqltypes.VARCHAR,
    "INTEGER": sqltypes.INTEGER,
    "BIGINT": sqltypes.BIGINT,
    "SMALLINT": sqltypes.SMALLINT,
    "DOUBLE": sqltypes.DOUBLE,
    "FLOAT": sqltypes.FLOAT,
    "BOOLEAN": sqltypes.BOOLEAN,
    "DATE": sqltypes.DATE,
    "TIMESTAMP": sqltypes.TIMESTAMP,
    "TIME": sqltypes.TIME,
    "BLOB": sqltypes.BLOB,
    "JSON": sqltypes.JSON,
}

DRIVER = "skillpath"


def sqlalchemy_type_name(duckdb_type: str) -> str:
    """The type name GE is given for a DuckDB column type (``"INTEGER"`` for ``integer``)."""
    return duckdb_type.upper()


class _Connection(ConnectionWrapper):
    """duckdb-engine's DBAPI connection, with a DuckDB cursor of its own per cursor."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        super().__init__(con)
        self._con = con

    def cursor(self) -> CursorWrapper:
        return _Cursor(self._con.cursor(), self)


class _Cursor(CursorWrapper):
    def __init__(self, cursor: duckdb.DuckDBPyConnection, connection: _Connection) -> None:
        super().__init__(cursor, connection)
        self._cursor = cursor

    def close(self) -> None:  # SQLAlchemy closes a cursor once its result is consumed
        self._cursor.close()


class DuckDBDialect(_DuckDBDialect):
    """duckdb-engine's dialect with column reflection that works on SQLAlchemy 2.1."""

    supports_statement_cache = False

    def get_columns(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        rows = connection.execute(
            sa.text(
                "select column_name, data_type, is_nullable, column_default "
                "from duckdb_columns() where schema_name = coalesce(:schema, current_schema()) "
                "and table_name = :table order by column_index"
            ),
            {"schema": schema, "table": table_name},
        ).fetchall()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else table_name)
        return [
            {
                "name": name,
                "type": _TYPES.get(type_.upper(), sqltypes.NullType)(),
                "nullable": nullable,
                "default": default,
            }
            for name, type_, nullable, default in rows
        ]

    def get_pk_constraint(
        self, connection: Any, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        return {"constrained_columns": [], "name": None}


sa.dialects.registry.register(f"duckdb.{DRIVER}", __name__, "DuckDBDialect")

URL = f"duckdb+{DRIVER}:///:memory:"  # names the dialect only; connections come from creator


def engine_kwargs(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``create_engine(URL, **engine_kwargs(con))``: an engine whose one pooled connection
    is a cursor of ``con`` (no second open of the database file).

    The creator holds ``con`` weakly: GE keeps its last context (and the kwargs of its
    datasources) for the life of the process, and must not keep the connection alive."""
    ref = weakref.ref(con)

    def creator() -> _Connection:
        live = ref()
        if live is None:
            raise duckdb.ConnectionException("the warehouse connection is closed")
        return _Connection(live.cursor())

    return {"creator": creator, "poolclass": sa.pool.StaticPool}


@atexit.register
def _release_duckdb_engine_globals() -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "duckdb_engine"]:
        sys.modules[name].__dict__.clear()
    gc.collect()
