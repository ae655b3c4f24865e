"""Snapshot deliveries: the latest delivery is the truth, so a key that is current but
absent from it is retired (``Source.retire``): a person absent from the latest full HR
export becomes a leaver, a catalogue item inactive, a role requirement, content skill or
prerequisite is removed (a tombstone row, which staging drops).

Ingestion only appends, and an unchanged row of a new delivery is a duplicate that is
not stored again, so raw tables cannot tell by themselves who was in the latest file;
the retirement rows say it, with the file as their lineage (``_extra._retired_by``).

A truncated export (a download cut short, a filter left on in the HRIS) looks like a
mass departure. When more than ``ingest.snapshot_max_absent_share`` of the current keys
would disappear, nothing of the file is applied: it is held as ``suspect_truncated``
until ``skillpath ingest --accept FILE`` confirms it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from skillpath.ingest.dedup import TYPED
from skillpath.ingest.sources import Source
from skillpath.ingest.sql import ident, lit
from skillpath.warehouse import RAW_TABLES

RETIRED_BY = "_retired_by"  # key in _extra of a retirement row: the snapshot file
_ABSENT = "_sp_absent"

# what makes a key current, per retirement kind (on its latest stored row)
_CURRENT = {
    "leaver": "status = 'active'",
    "inactive": "coalesce(active, true)",
    "removed": f"json_extract_string(_extra, '$.{RETIRED_BY}') is null",
}
NOUN = {"leaver": "active persons", "inactive": "active catalogue items", "removed": "rows"}


@dataclass(frozen=True)
class Absence:
    current: int  # keys current before this delivery
    absent: int  # of them, absent from it

    @property
    def share(self) -> float:
        return self.absent / self.current if self.current else 0.0


def retires(source: Source) -> bool:
    return source.delivery == "snapshot" and source.retire in _CURRENT


def _latest(source: Source) -> str:
    keys = ", ".join(ident(k) for k in source.key)
    return f"""
        select * exclude (_version_rank) from (
            select *, row_number() over (
                partition by {keys} order by _loaded_at desc, _source_file desc
            ) as _version_rank
            from raw.{source.table}
        ) where _version_rank = 1"""


def stage_absent(con: duckdb.DuckDBPyConnection, source: Source) -> Absence:
    """``_sp_absent``: the keys current before this delivery that it does not contain. A
    row of the file counts as present whenever its key could be read, valid or not: a
    person whose row has a bad date has not left."""
    keys = [ident(k) for k in source.key]
    present = " and ".join(f"t.{k} = cur.{k}" for k in keys)
    con.execute(
        f"""
        create or replace temp table {_ABSENT} as
        select {", ".join(f"cur.{k}" for k in keys)} from ({_latest(source)}) cur
        where {_CURRENT[source.retire]}
          and not exists (select 1 from {TYPED} t where {present})
        """
    )
    [(current,)] = con.execute(
        f"select count(*) from ({_latest(source)}) where {_CURRENT[source.retire]}"
    ).fetchall()
    [(absent,)] = con.execute(f"select count(*) from {_ABSENT}").fetchall()
    return Absence(int(current), int(absent))


def retire_absent(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    file: str,
    loaded_at: datetime,
    delivered_at: datetime,
) -> int:
    """Append a retirement row for every key in ``_sp_absent``; returns how many."""
    columns = [name for name, _ in RAW_TABLES[source.table]]
    keys = set(source.key)
    marker = f"json_object({lit(RETIRED_BY)}, {lit(file)})"
    delivered = f"{lit(delivered_at.date().isoformat())}::date"
    overrides = {
        "_extra": f"json_merge_patch(coalesce(_extra, '{{}}'), {marker})::varchar",
        "_source_file": lit(file),
        "_loaded_at": f"{lit(loaded_at.isoformat())}::timestamp",
    }
    if source.retire == "leaver":
        overrides["status"] = "'leaver'"
        # a leave date HR already gave (and that has passed) is kept
        overrides["leave_date"] = (
            f"case when leave_date <= {delivered} then leave_date else {delivered} end"
        )
    elif source.retire == "inactive":
        overrides["active"] = "false"
    else:
        overrides["_extra"] = f"{marker}::varchar"
        for name in columns:
            if name not in keys and name not in overrides:
                overrides[name] = "null"
    select = ", ".join(f"{overrides.get(c, ident(c))} as {ident(c)}" for c in columns)
    using = ", ".join(ident(k) for k in source.key)
    [(count,)] = con.execute(
        f"""
        insert into raw.{source.table} ({", ".join(ident(c) for c in columns)})
        select {select} from ({_latest(source)}) semi join {_ABSENT} using ({using})
        """
    ).fetchall()
    return int(count)
