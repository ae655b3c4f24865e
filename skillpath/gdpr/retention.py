"""Storage limitation (GDPR Art. 5(1)(e)): what is kept how long, enforced.

The periods are configuration (``[retention]`` in ``skillpath/config.toml``, with the
reason beside each): events (statements and survey answers, by when they happened),
quarantine payloads (the rejected rows as delivered), and the lists of publications that
are no longer current. A run deletes what is past its period in one transaction, records
the cutoffs and counts in ``audit.retention_runs``, and compacts the warehouse like an
erasure does, so the deleted rows also leave the file. The scheduled Dagster job
``retention`` runs it (``orchestration/jobs.py``); ``RETAINED`` is what the reports index
shows people.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from skillpath.config import RetentionConfig
from skillpath.gdpr.erasure import finish_pending
from skillpath.gdpr.tables import ensure_gdpr_tables
from skillpath.publish.tables import table_exists
from skillpath.publish.writer import utcnow
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect

# table -> the column that says when its event happened (raw and the incremental mart
# that keeps statements after raw lost them; other marts are rebuilt from raw each run)
EVENT_TABLES = {
    "raw.lms_statements": "timestamp",
    "raw.survey_pulse": "survey_date",
    "raw.survey_course_feedback": "submitted_at",
    "raw.survey_skill_assessments": "assessed_at",
    "marts.fct_learning_events": "event_at",
}
PUBLICATION_TABLES = ("published.recommendations", "published.role_path_fallbacks")


@dataclass(frozen=True)
class Retained:
    """One line of what is kept and for how long (the reports index lists them)."""

    what: str
    period: str
    then: str


def retained(config: RetentionConfig) -> list[Retained]:
    return [
        Retained(
            "learning statements and survey answers (raw and derived)",
            f"{config.events_months} months after the event",
            "deleted",
        ),
        Retained(
            "quarantined rows' payloads",
            f"{config.quarantine_payload_days} days after quarantine",
            "payload deleted; reason and position kept",
        ),
        Retained(
            "recommendations of publications no longer current",
            f"{config.publications_months} months after the publication",
            "deleted; the publication's gates and counts kept",
        ),
        Retained(
            "an erased person's data",
            "until the erasure request",
            "deleted everywhere; a keyed token blocks re-delivery",
        ),
    ]


@dataclass(frozen=True)
class RetentionResult:
    cutoffs: dict[str, datetime]
    rows: dict[str, int]  # table -> rows deleted (quarantine: payloads cleared)
    files: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def cutoffs(config: RetentionConfig, now: datetime) -> dict[str, datetime]:
    stamp = pd.Timestamp(now)
    return {
        "events": (stamp - pd.DateOffset(months=config.events_months)).to_pydatetime(),
        "quarantine_payloads": (
            stamp - pd.DateOffset(days=config.quarantine_payload_days)
        ).to_pydatetime(),
        "publications": (stamp - pd.DateOffset(months=config.publications_months)).to_pydatetime(),
    }


def _type(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    schema, name = table.split(".")
    [(data_type,)] = con.execute(
        """select data_type from information_schema.columns
           where table_schema = ? and table_name = ? and column_name = ?""",
        [schema, name, column],
    ).fetchall()
    return data_type


def _delete_past(con: duckdb.DuckDBPyConnection, limits: dict[str, datetime]) -> dict[str, int]:
    rows: dict[str, int] = {}
    for table, column in EVENT_TABLES.items():
        schema, name = table.split(".")
        if table_exists(con, schema, name):
            # a date is past its period once the cutoff's day has begun
            rows[table] = con.execute(
                f'delete from {table} where "{column}" < cast(? as {_type(con, table, column)})',
                [limits["events"]],
            ).fetchall()[0][0]
    rows["audit.quarantine (payloads)"] = con.execute(
        "update audit.quarantine set payload = null where payload is not null "
        "and quarantined_at < ?",
        [limits["quarantine_payloads"]],
    ).fetchall()[0][0]
    current = "select distinct publication_id from published.current_recommendations"
    for table in PUBLICATION_TABLES:
        rows[table] = con.execute(
            f"""delete from {table} where publication_id in (
                    select publication_id from published.publications where created_at < ?)
                and publication_id not in ({current})""",
            [limits["publications"]],
        ).fetchall()[0][0]
    return {t: int(n) for t, n in rows.items()}


def apply_retention(settings: Settings, now: datetime | None = None) -> RetentionResult:
    """Delete what is past its period, record it, compact. The caller holds the run
    lock (the Dagster job's resource takes it)."""
    now = now or utcnow()
    limits = cutoffs(settings.config.retention, now)
    with connect(settings.warehouse) as con:
        ensure_gdpr_tables(con, pseudonym_key(settings))
        con.execute("begin transaction")
        try:
            rows = _delete_past(con, limits)
            con.execute(
                "insert into audit.retention_runs values (?, ?, ?, ?, null)",
                [
                    secrets.token_hex(8),
                    json.dumps({k: v.isoformat() for k, v in limits.items()}),
                    json.dumps(rows, sort_keys=True),
                    now,
                ],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return RetentionResult(limits, rows, finish_pending(settings))
