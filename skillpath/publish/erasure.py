"""``skillpath erase --employee-id ID``: an erasure request (GDPR art. 17).

Every base table with a ``person_key`` column is found from the catalogue rather than
listed, so a table added later cannot be forgotten. Derived schemas (staging,
intermediate, marts) are cleaned too: dbt rebuilds most of them, but an incremental model
would keep the person's rows forever. The erasure is recorded in ``audit.erasures`` with
the person key (a keyed hash) and counts only, so compliance can prove it happened
without the warehouse holding the employee id again. An id of which nothing is held is
not recorded (a typo must not leave an erasure on record) and exits 1; an id erased
before exits 0 and says so.
"""

from __future__ import annotations

import json
import sys

import duckdb

from skillpath.privacy import person_key
from skillpath.publish.tables import ensure_publish_tables
from skillpath.publish.writer import utcnow
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect

ERASABLE_SCHEMAS = (
    "raw",
    "restricted",
    "audit",
    "published",
    "ml",
    "staging",
    "intermediate",
    "marts",
)


def _tables_with(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    placeholders = ", ".join("?" for _ in ERASABLE_SCHEMAS)
    rows = con.execute(
        f"""select c.table_schema || '.' || c.table_name
            from information_schema.columns c
            join information_schema.tables t using (table_schema, table_name)
            where c.column_name = ? and t.table_type = 'BASE TABLE'
              and c.table_schema in ({placeholders})
            order by 1""",
        [column, *ERASABLE_SCHEMAS],
    ).fetchall()
    return [r[0] for r in rows]


def erase_person(con: duckdb.DuckDBPyConnection, key: str, employee_id: str) -> dict[str, int]:
    """Delete in one transaction; returns rows affected per table (zeros left out). When
    nothing was held, nothing is recorded either."""
    ensure_publish_tables(con)
    counts: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        for table in _tables_with(con, "person_key"):
            counts[table] = con.execute(
                f"delete from {table} where person_key = ?", [key]
            ).fetchone()[0]
        for table in _tables_with(con, "manager_key"):
            counts[f"{table} (manager link cleared)"] = con.execute(
                f"update {table} set manager_key = null where manager_key = ?", [key]
            ).fetchone()[0]
        # a rejected row keeps its payload; it may name the person by key or by id
        counts["audit.quarantine"] = con.execute(
            "delete from audit.quarantine where contains(payload, ?) or contains(payload, ?)",
            [key, json.dumps(employee_id)],
        ).fetchone()[0]
        counts = {t: n for t, n in counts.items() if n}
        if counts:
            con.execute(
                "insert into audit.erasures values (?, ?, ?)", [key, json.dumps(counts), utcnow()]
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts


def _erased_before(con: duckdb.DuckDBPyConnection, key: str) -> bool:
    return (
        con.execute(
            "select count(*) from audit.erasures where erased_person_key = ?", [key]
        ).fetchone()[0]
        > 0
    )


def erase(settings: Settings, employee_id: str) -> int:
    """Exit code 0 when the person was erased now or before, 1 when nothing is held
    about the id (nothing recorded) or the warehouse could not be written."""
    employee_id = employee_id.strip()
    if not employee_id:
        print("erase: --employee-id is empty", file=sys.stderr)
        return 1
    key = person_key(employee_id, pseudonym_key(settings))
    if not settings.warehouse.exists():
        print(
            f"no warehouse at {settings.warehouse}: no data held, nothing erased", file=sys.stderr
        )
        return 1
    try:
        with connect(settings.warehouse) as con:
            counts = erase_person(con, key, employee_id)
            before = not counts and _erased_before(con, key)
    except duckdb.IOException as exc:
        print(f"cannot write {settings.warehouse}: {exc}\nretry when no pipeline is running")
        return 1
    if before:
        print("already erased: no data held for this employee id (the erasure is on record)")
        return 0
    if not counts:
        print(
            "no data held for this employee id: nothing erased, nothing recorded "
            "(check the id against the HR export)",
            file=sys.stderr,
        )
        return 1
    print(f"erased {sum(counts.values())} row(s):")
    for table, n in counts.items():
        print(f"  {table:<48} {n:>8}")
    print(
        "recorded in audit.erasures. Still to do outside the warehouse: remove the person from "
        "the source exports in the landing directory (re-ingesting them would bring the "
        "person back); the current model keeps the key in its id mapping until the next "
        "weekly retrain; marts are rebuilt without the person on the next run."
    )
    return 0
