"""``skillpath erase``: erasure requests (GDPR Art. 17) that stick.

One request names one employee id or a file of them. For each person:

1. **Warehouse, one transaction.** Every row of every table with a ``person_key``
   (raw, restricted, staging, intermediate, marts, ml, published incl. older
   publications, audit: the identity hashes and the employee directory too) is deleted;
   references to them (``manager_key``) are cleared; quarantined rows that name them are
   deleted; any other text that mentions their key is masked. Their tokens (person key
   and identity hashes, each keyed differently: ``privacy.suppression_token``) go on the
   suppression list, which ingestion applies before loading, so a later delivery that
   still lists them counts their rows as erased and loads none. ``audit.erasures``
   records the time and the counts, nothing that identifies anyone.
2. **Files, after the commit** (``finish_pending``): exports under the data directory,
   old Dagster outputs, MLflow's store (``gdpr.files``); then the warehouse is compacted
   so the deleted rows leave the file (``gdpr.compaction``). The request stays pending
   until then, and the next command that takes the run lock finishes it.

An id of which nothing is held is not erased and not recorded (a typo must not leave a
record), unless ``--suppress-only`` asks to block future deliveries of a person not yet
delivered. An id erased before is reported as such (exit 0), and nothing is recorded.
Nothing here prints or logs an employee id: ids in a file are named by their line.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from skillpath.gdpr import catalog
from skillpath.gdpr.compaction import compact_duckdb
from skillpath.gdpr.files import clean_files
from skillpath.gdpr.tables import ERASURE, SUPPRESSION, ensure_gdpr_tables, pending
from skillpath.privacy import identity_token, person_key, person_token
from skillpath.publish.tables import table_exists
from skillpath.publish.writer import utcnow
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect

_ERASE = "_sp_erase"  # the request: position, person_key, employee id as JSON text
_KEY = re.compile(r"[0-9a-f]{64}")
MASK = "[erased]"


@dataclass
class ErasureResult:
    """What one request did. Positions are 1-based (the line of an id in its file)."""

    erased: list[int] = field(default_factory=list)
    already_erased: list[int] = field(default_factory=list)
    suppressed: list[int] = field(default_factory=list)
    not_held: list[int] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)

    @property
    def recorded(self) -> bool:
        return bool(self.erased or self.suppressed)


def read_id_file(path: Path) -> list[str]:
    """Employee ids from a file: a CSV whose header has ``employee_id``, or one id per
    line. Blank lines are skipped (their position still counts)."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    if lines and "employee_id" in [h.strip().lower() for h in next(csv.reader(lines[:1]))]:
        reader = csv.DictReader(lines)
        column = next(h for h in reader.fieldnames or [] if h.strip().lower() == "employee_id")
        return [(row.get(column) or "").strip() for row in reader]
    return [line.strip() for line in lines]


def _stage(con: duckdb.DuckDBPyConnection, request: pd.DataFrame) -> None:
    con.register("_sp_request", request)
    try:
        con.execute(f"create or replace temp table {_ERASE} as select * from _sp_request")
    finally:
        con.unregister("_sp_request")


def _held(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Person keys of the request of which some row is held."""
    held: set[str] = set()
    for table in catalog.person_tables(con):
        held.update(
            r[0]
            for r in con.execute(
                f"select distinct person_key from {table} semi join {_ERASE} using (person_key)"
            ).fetchall()
        )
    for table, column in catalog.reference_columns(con):
        held.update(
            r[0]
            for r in con.execute(
                f"select distinct {column} from {table} where {column} in "
                f"(select person_key from {_ERASE})"
            ).fetchall()
        )
    held.update(
        r[0]
        for r in con.execute(
            f"""select distinct e.person_key from {_ERASE} e join audit.quarantine q
                on contains(q.payload, e.person_key) or contains(q.payload, e.id_json)"""
        ).fetchall()
    )
    return held


def _delete(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in catalog.person_tables(con):
        counts[table] = con.execute(
            f"delete from {table} where person_key in (select person_key from {_ERASE})"
        ).fetchall()[0][0]
    for table, column in catalog.reference_columns(con):
        counts[f"{table}.{column} (cleared)"] = con.execute(
            f"update {table} set {column} = null "
            f"where {column} in (select person_key from {_ERASE})"
        ).fetchall()[0][0]
    # a rejected row keeps its payload; it names the person by key (or, in rows
    # quarantined before payloads were pseudonymised, by id)
    counts["audit.quarantine"] = con.execute(
        f"""delete from audit.quarantine q where exists (
                select 1 from {_ERASE} e
                where contains(q.payload, e.person_key) or contains(q.payload, e.id_json))"""
    ).fetchall()[0][0]
    keys = {r[0] for r in con.execute(f"select person_key from {_ERASE}").fetchall()}
    for table, column in catalog.text_columns(con, without_persons=True):
        masked = _mask(con, table, column, keys)
        if masked:
            counts[f"{table}.{column} (masked)"] = masked
    return {t: int(n) for t, n in counts.items() if n}


def _mask(con: duckdb.DuckDBPyConnection, table: str, column: str, keys: set[str]) -> int:
    """Replace the request's person keys where a text mentions them in passing (e.g. a
    validation result's sample of unexpected values). Only rows that hold something
    shaped like a key are read."""
    rows = con.execute(
        f'select rowid, "{column}" from {table} '
        f"""where regexp_matches("{column}", '[0-9a-f]{{64}}')"""
    ).fetchall()
    changed = 0
    for rowid, text in rows:
        found = set(_KEY.findall(text)) & keys
        if found:
            for key in found:
                text = text.replace(key, MASK)
            con.execute(f'update {table} set "{column}" = ? where rowid = ?', [text, rowid])
            changed += 1
    return changed


def _tokens(con: duckdb.DuckDBPyConnection, keys: Sequence[str], key: bytes) -> set[str]:
    """The suppression tokens of these persons: their person key and every identity
    hash HR gave them (read before the hashes are deleted)."""
    tokens = {person_token(k, key) for k in keys}
    if keys and table_exists(con, "audit", "person_identity"):
        con.execute("create or replace temp table _sp_keys (person_key varchar)")
        con.executemany("insert into _sp_keys values (?)", [[k] for k in keys])
        hashes = con.execute(
            "select email_hash from audit.person_identity semi join _sp_keys using (person_key)"
        ).fetchall()
        tokens |= {identity_token(h, key) for (h,) in hashes}
    return tokens


def _suppress(con: duckdb.DuckDBPyConnection, tokens: set[str]) -> None:
    con.execute("create or replace temp table _sp_tokens (token varchar)")
    con.executemany("insert into _sp_tokens values (?)", [[t] for t in sorted(tokens)])
    con.execute(
        """insert into audit.erasure_suppression
           select distinct token from _sp_tokens
           anti join audit.erasure_suppression using (token)"""
    )


def erase_in_warehouse(
    con: duckdb.DuckDBPyConnection,
    employee_ids: Sequence[str],
    key: bytes,
    suppress_only: bool = False,
    now: datetime | None = None,
) -> ErasureResult:
    """Step 1 for a whole request, in one transaction (nothing of it on any error)."""
    ensure_gdpr_tables(con, key)
    result = ErasureResult()
    request = pd.DataFrame(
        {
            "position": range(1, len(employee_ids) + 1),
            "person_key": [person_key(i, key) if i else None for i in employee_ids],
            "id_json": [json.dumps(i) for i in employee_ids],
        }
    ).dropna(subset=["person_key"])
    suppressed = {
        r[0] for r in con.execute("select token from audit.erasure_suppression").fetchall()
    }
    con.execute("begin transaction")
    try:
        _stage(con, request)
        held = _held(con)
        to_erase: list[str] = []
        to_suppress: list[str] = []
        for position, person in zip(request["position"], request["person_key"], strict=True):
            if person in held:
                result.erased.append(int(position))
                to_erase.append(person)
            elif person_token(person, key) in suppressed:
                result.already_erased.append(int(position))
            elif suppress_only:
                result.suppressed.append(int(position))
                to_suppress.append(person)
            else:
                result.not_held.append(int(position))
        _stage(con, request[request["person_key"].isin(to_erase)])
        tokens = _tokens(con, to_erase, key) | {person_token(p, key) for p in to_suppress}
        result.rows = _delete(con) if to_erase else {}
        if result.recorded:
            _suppress(con, tokens)
            con.execute(
                """insert into audit.erasures values
                   (?, ?, ?, ?, ?, ?, '{}', ?, null)""",
                [
                    secrets.token_hex(8),
                    ERASURE if result.erased else SUPPRESSION,
                    len(result.erased),
                    len(result.suppressed),
                    len(result.already_erased),
                    json.dumps(result.rows, sort_keys=True),
                    now or utcnow(),
                ],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute(f"drop table if exists {_ERASE}")
    # positions of blank ids count as not held
    blank = [i for i, v in enumerate(employee_ids, start=1) if not v]
    result.not_held = sorted(result.not_held + blank)
    return result


def finish_pending(settings: Settings) -> dict[str, int]:
    """Step 2 for every request (and retention run) still pending: clean the files,
    compact the warehouse and mark them done in the compacted copy. Safe to repeat;
    the caller holds the run lock. Returns the files changed (empty when nothing was
    pending)."""
    if not settings.warehouse.exists():
        return {}
    key = pseudonym_key(settings)
    with connect(settings.warehouse) as con:
        ensure_gdpr_tables(con, key)
        if not pending(con):
            return {}
        suppressed = {
            r[0] for r in con.execute("select token from audit.erasure_suppression").fetchall()
        }
    files = clean_files(settings, suppressed, key)
    now = utcnow()

    def mark_done(con: duckdb.DuckDBPyConnection, catalog_name: str) -> None:
        con.execute(
            f"""update {catalog_name}.audit.erasures set completed_at = ?, files_changed = ?
                where completed_at is null""",
            [now, json.dumps(files, sort_keys=True)],
        )
        con.execute(
            f"update {catalog_name}.audit.retention_runs set completed_at = ? "
            "where completed_at is null",
            [now],
        )

    size = compact_duckdb(settings.warehouse, mark_done)
    return {**files, "warehouse_bytes": size}


def _where(positions: list[int], source: Path | None) -> str:
    if source is None:
        return ""
    shown = ", ".join(map(str, positions[:20])) + (" …" if len(positions) > 20 else "")
    return f" (line(s) {shown} of {source.name})"


def render(result: ErasureResult, source: Path | None) -> list[str]:
    """What the operator reads. No employee id: ids from a file are named by their line."""
    lines = []
    if result.erased:
        total = sum(n for t, n in result.rows.items() if not t.endswith(")"))
        lines.append(f"erased {len(result.erased)} person(s): {total} row(s) deleted")
        lines += [f"  {table:<56} {n:>9}" for table, n in sorted(result.rows.items())]
    if result.already_erased:
        lines.append(
            f"already erased: {len(result.already_erased)} id(s) "
            f"(on the suppression list, no data held){_where(result.already_erased, source)}"
        )
    if result.suppressed:
        lines.append(
            f"suppressed: {len(result.suppressed)} id(s) with no data held put on the "
            "suppression list (--suppress-only): their future deliveries are never loaded"
        )
    if result.not_held:
        lines.append(
            f"no data held for {len(result.not_held)} id(s){_where(result.not_held, source)}: "
            "nothing erased, nothing recorded. Check the id against the HR export; to block "
            "future deliveries of a person not yet delivered, use --suppress-only"
        )
    if result.files:
        done = ", ".join(f"{k} {v}" for k, v in sorted(result.files.items()))
        lines.append(f"files cleaned and warehouse compacted: {done}")
    if result.recorded:
        lines.append(
            "recorded in audit.erasures (time and counts only). Not ours to change: exports "
            "delivered outside the data directory (ask their recipients to erase the person) "
            "and the source exports in the landing directory (re-delivered rows of the "
            "person are counted as erased and never loaded)"
        )
    return lines


def erase(
    settings: Settings,
    employee_ids: Sequence[str],
    suppress_only: bool = False,
    source: Path | None = None,
) -> int:
    """The command: exit code 0 when every id was erased now or before (or suppressed),
    1 when some id has no data held (the others are still erased). ``source``: the file
    the ids came from, named in the messages."""
    ids = [i.strip() for i in employee_ids]
    if not any(ids):
        print("erase: no employee id given", file=sys.stderr)
        return 1
    key = pseudonym_key(settings)
    with connect(settings.warehouse) as con:
        result = erase_in_warehouse(con, ids, key, suppress_only)
    result.files = finish_pending(settings)
    out = sys.stderr if result.not_held and not result.recorded else sys.stdout
    print("\n".join(render(result, source)), file=out)
    return 1 if result.not_held else 0
