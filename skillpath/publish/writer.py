"""Writing a publication so that a crash at any point leaves the current one intact.

The order is what makes it safe:

1. the publication row is inserted first with status ``failed`` ("interrupted"): if the
   process dies from here on, that is the truth about this publication;
2. its recommendations are written in one transaction (rolled back on any error);
3. after the gates, ``switch_current`` replaces ``current_recommendations`` and marks the
   row ``published`` in one transaction — before its commit nothing current changed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from skillpath.publish.tables import (
    BLOCKED,
    FAILED,
    PUBLISHED,
    RECOMMENDATION_COLUMNS,
)

BATCH_ROWS = 50_000
INTERRUPTED = "interrupted before the publication was complete"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_publication_id(now: datetime) -> str:
    """Sortable by time, unique without coordination."""
    return f"pub-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class PublicationRow:
    publication_id: str
    run_id: str
    model_name: str
    model_version: str | None
    personalised: bool
    fallback_reason: str | None
    created_at: datetime


def start(con: duckdb.DuckDBPyConnection, row: PublicationRow) -> None:
    con.execute(
        """insert into published.publications
           (publication_id, run_id, model_name, model_version, personalised, fallback_reason,
            persons, recommendations, gate_results, status, message, champion, created_at)
           values (?, ?, ?, ?, ?, ?, 0, 0, '[]', ?, ?, null, ?)""",
        [
            row.publication_id,
            row.run_id,
            row.model_name,
            row.model_version,
            row.personalised,
            row.fallback_reason,
            FAILED,
            INTERRUPTED,
            row.created_at,
        ],
    )


def _insert_batch(
    con: duckdb.DuckDBPyConnection, batch: pd.DataFrame, table: str = "published.recommendations"
) -> None:
    con.register("_publish_batch", batch)
    try:
        con.execute(f"insert into {table} by name select * from _publish_batch")
    finally:
        con.unregister("_publish_batch")


def _publication_frame(publication_id: str, recommendations: pd.DataFrame) -> pd.DataFrame:
    missing = (
        {c for c, _ in RECOMMENDATION_COLUMNS} - {"publication_id"} - set(recommendations.columns)
    )
    if missing:
        raise ValueError(f"candidate recommendations lack column(s): {', '.join(sorted(missing))}")
    return recommendations.assign(publication_id=publication_id)[
        [c for c, _ in RECOMMENDATION_COLUMNS]
    ]


def write_recommendations(
    con: duckdb.DuckDBPyConnection,
    publication_id: str,
    recommendations: pd.DataFrame,
    role_paths: pd.DataFrame | None = None,
) -> None:
    """The candidate's lists and, for the persons whose lists are personalised, their
    role paths (``published.role_path_fallbacks``), in one transaction."""
    frame = _publication_frame(publication_id, recommendations)
    personal = set(frame.loc[frame["personalised"].astype(bool), "person_key"])
    fallbacks = (
        _publication_frame(publication_id, role_paths[role_paths["person_key"].isin(personal)])
        if role_paths is not None
        else None
    )
    con.execute("begin transaction")
    try:
        for start_row in range(0, len(frame), BATCH_ROWS):
            _insert_batch(con, frame.iloc[start_row : start_row + BATCH_ROWS])
        if fallbacks is not None:
            for start_row in range(0, len(fallbacks), BATCH_ROWS):
                _insert_batch(
                    con,
                    fallbacks.iloc[start_row : start_row + BATCH_ROWS],
                    "published.role_path_fallbacks",
                )
        con.execute(
            """update published.publications
               set persons = (select count(distinct person_key) from published.recommendations
                              where publication_id = $1),
                   recommendations = (select count(*) from published.recommendations
                                      where publication_id = $1)
               where publication_id = $1""",
            [publication_id],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _replace_current(con: duckdb.DuckDBPyConnection, publication_id: str) -> None:
    con.execute("delete from published.current_recommendations")
    con.execute(
        """insert into published.current_recommendations
           select * from published.recommendations where publication_id = ?
           order by person_key, rank""",
        [publication_id],
    )


def switch_current(
    con: duckdb.DuckDBPyConnection, publication_id: str, gate_results: str, message: str
) -> None:
    con.execute("begin transaction")
    try:
        _replace_current(con, publication_id)
        _set_status(con, publication_id, PUBLISHED, message, gate_results)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def block(con: duckdb.DuckDBPyConnection, publication_id: str, gate_results: str, message: str):
    _set_status(con, publication_id, BLOCKED, message, gate_results)


def fail(con: duckdb.DuckDBPyConnection, publication_id: str, message: str) -> None:
    _set_status(con, publication_id, FAILED, message, None)


def record_champion(con: duckdb.DuckDBPyConnection, publication_id: str, message: str) -> None:
    con.execute(
        "update published.publications set champion = ? where publication_id = ?",
        [message, publication_id],
    )


def _set_status(
    con: duckdb.DuckDBPyConnection,
    publication_id: str,
    status: str,
    message: str,
    gate_results: str | None,
) -> None:
    con.execute(
        """update published.publications
           set status = ?, message = ?, gate_results = coalesce(?, gate_results),
               finished_at = ?
           where publication_id = ?""",
        [status, message, gate_results, utcnow(), publication_id],
    )
