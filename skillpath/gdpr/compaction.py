"""Deleted rows must not linger in the files they lived in.

DuckDB marks deleted rows and reuses their blocks later; until then their bytes stay in
the file (and a checkpoint does not rewrite a row group that still holds live rows).
SQLite keeps deleted pages on its free list. So after an erasure or a retention run:

- the warehouse is copied into a fresh file (``COPY FROM DATABASE``: tables with their
  column compression, views), which then replaces the old one in one ``rename``: a
  crash before it leaves the old file, still complete, and the work pending
  (``finish`` marks it done inside the fresh copy, so the mark and the compacted file
  arrive together);
- a SQLite store (MLflow's) is rebuilt in place by ``VACUUM``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import duckdb

_FRESH = "sp_compacted"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def compact_duckdb(path: Path, finish: Callable[[duckdb.DuckDBPyConnection, str], None]) -> int:
    """Rewrite the DuckDB file ``path`` without its free blocks; ``finish(con, catalog)``
    runs on the fresh copy (attached as ``catalog``) before it replaces the old file.
    Returns the new file's size. Nothing else may have the file open."""
    fresh = path.with_name(path.name + ".compacting")
    fresh.unlink(missing_ok=True)
    Path(str(fresh) + ".wal").unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("set enable_progress_bar = false")
        con.execute("checkpoint")
        [(source,)] = con.execute("select current_database()").fetchall()
        con.execute(f"attach '{_quoted(fresh)}' as {_FRESH}")
        con.execute(f'copy from database "{source}" to {_FRESH}')
        finish(con, _FRESH)
        con.execute(f"detach {_FRESH}")
    finally:
        con.close()
    fresh.chmod(0o600)
    _fsync(fresh)
    os.replace(fresh, path)
    Path(str(path) + ".wal").unlink(missing_ok=True)
    _fsync(path.parent)
    return path.stat().st_size


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def vacuum_sqlite(path: Path) -> bool:
    """VACUUM a SQLite file (MLflow's store) when it exists; False when there is none."""
    if not path.is_file():
        return False
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("vacuum")
    return True
