"""What may be served of the current publication *now*: objections and departures apply
at once, not only at the next publication (which a gate may block for weeks).

The published set is never edited; every reader of it (``skillpath export``, and any
API that serves it) goes through ``serving_recommendations``, which overlays the
latest HR state ingested since:

- a person who opted out of personalisation (GDPR Art. 21; the latest consent event
  per person wins) and whose list is personalised gets the role path stored beside the
  publication for them (``published.role_path_fallbacks``), or nothing if there is none;
- a person who has left (latest HR row ``status = leaver`` or a ``leave_date`` that has
  come) gets nothing: personalisation stops at the leave date;
- an erased person has no rows left anywhere (``skillpath erase``).

The next run applies the same changes properly: the person's events leave training, the
ranking gives them the role path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from skillpath.publish.tables import RECOMMENDATION_COLUMNS, table_exists

_COLUMNS = ", ".join(c for c, _ in RECOMMENDATION_COLUMNS)


@dataclass(frozen=True)
class Overlay:
    """Persons of the current publication whose rows the overlay changed."""

    switched_to_role_path: int = 0  # opted out since; served their role path
    withheld_opted_out: int = 0  # opted out since; no role path stored for them
    withheld_leavers: int = 0  # left since

    def describe(self) -> str:
        parts = []
        if self.switched_to_role_path:
            parts.append(f"{self.switched_to_role_path} opted out since: role path")
        if self.withheld_opted_out:
            parts.append(f"{self.withheld_opted_out} opted out since: left out (no role path)")
        if self.withheld_leavers:
            parts.append(f"{self.withheld_leavers} left since: left out")
        return "; ".join(parts)


def _latest(table: str, columns: str, order: str) -> str:
    return f"""
        select person_key, {columns} from (
            select *, row_number() over (partition by person_key order by {order}) as _rank
            from {table} where person_key is not null
        ) where _rank = 1"""


def _hr_state_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """Queries of each person's latest consent (person_key, opted_out) and latest HR row
    (person_key, status, leave_date); empty where the raw table does not exist."""
    consent = (
        _latest(
            "raw.hr_personalisation_consent",
            "opted_out",
            "changed_at desc nulls last, _loaded_at desc, _source_file desc",
        )
        if table_exists(con, "raw", "hr_personalisation_consent")
        else "select null::varchar as person_key, null::boolean as opted_out where false"
    )
    hr = (
        _latest("raw.hr_employees", "status, leave_date", "_loaded_at desc, _source_file desc")
        if table_exists(con, "raw", "hr_employees")
        else "select null::varchar as person_key, null::varchar as status, "
        "null::date as leave_date where false"
    )
    return consent, hr


def serving_recommendations(
    con: duckdb.DuckDBPyConnection, today: date | None = None
) -> tuple[pd.DataFrame, Overlay]:
    """The current publication's rows (``RECOMMENDATION_COLUMNS``) as they may be served
    on ``today`` (default: the current date), and what the overlay changed."""
    consent, hr = _hr_state_sql(con)
    params = {"today": today or date.today()}
    con.execute(
        f"""create or replace temp table _sp_left as
            select distinct c.person_key from published.current_recommendations c
            join ({hr}) h using (person_key)
            where h.status = 'leaver' or h.leave_date <= $today""",
        params,
    )
    con.execute(
        f"""create or replace temp table _sp_objected as
            select distinct c.person_key from published.current_recommendations c
            join ({consent}) k using (person_key)
            where k.opted_out and c.personalised
              and c.person_key not in (select person_key from _sp_left)"""
    )
    fallbacks = (
        f"""select {_COLUMNS} from published.role_path_fallbacks
            where publication_id in (select publication_id from published.current_recommendations)
              and person_key in (select person_key from _sp_objected)"""
        if table_exists(con, "published", "role_path_fallbacks")
        else f"select {_COLUMNS} from published.current_recommendations where false"
    )
    frame = con.execute(
        f"""select {_COLUMNS} from published.current_recommendations
            where person_key not in (select person_key from _sp_left)
              and person_key not in (select person_key from _sp_objected)
            union all
            {fallbacks}
            order by person_key, rank"""
    ).df()
    [(objected, switched, left)] = con.execute(
        f"""select (select count(*) from _sp_objected),
                   (select count(distinct person_key) from ({fallbacks})),
                   (select count(*) from _sp_left)"""
    ).fetchall()
    return frame, Overlay(int(switched), int(objected - switched), int(left))
