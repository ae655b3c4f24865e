"""``skillpath subject-access``: an access request (GDPR Art. 15) answered from the data.

Everything held about one person, machine-readable, each part with where it comes from:
every row of every table that holds them (found from the catalogue like erasure finds
them, so nothing is left out), their consent state, the recommendations they were given
with their reasons (and what is served to them today), the quarantined rows that name
them and the identity hashes kept to match their LMS statements. The file holds personal
data: it is written owner-only, and the command says so.
"""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from skillpath.config import RetentionConfig
from skillpath.gdpr import catalog
from skillpath.gdpr.retention import retained
from skillpath.ingest.sources import SOURCES_BY_TABLE
from skillpath.privacy import person_key, person_token
from skillpath.publish.overlay import serving_recommendations
from skillpath.publish.tables import table_exists
from skillpath.publish.writer import utcnow
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect

_SCHEMA_SOURCES = {
    "staging": "derived by dbt from the raw tables (cleaned and typed)",
    "intermediate": "derived by dbt from the raw tables (business rules)",
    "marts": "derived by dbt from the raw tables: what analysts and the recommender read",
    "ml": "the latest candidate computed by the recommender (replaced by every run)",
    "restricted": "sensitive attributes from HR, read only by the fairness audit",
}
_TABLE_SOURCES = {
    "published.recommendations": "recommendations of every publication (with their reasons)",
    "published.current_recommendations": "the recommendations currently published",
    "published.role_path_fallbacks": "the role path served instead if you opt out",
    "published.employee_directory": "your employee id, to deliver recommendations to HR/LMS",
    "audit.person_identity": "keyed hashes of your e-mail address (not the address), to "
    "match LMS statements to you",
}


def _source(table: str) -> str:
    schema, name = table.split(".")
    if table in _TABLE_SOURCES:
        return _TABLE_SOURCES[table]
    if schema in ("raw", "restricted") and name in SOURCES_BY_TABLE:
        return f"landing file {SOURCES_BY_TABLE[name].path} as delivered by HR/LMS/surveys"
    return _SCHEMA_SOURCES.get(schema, f"table {table}")


def _plain(value: Any) -> Any:
    """A JSON value: timestamps as ISO text, NaN as null, JSON texts parsed."""
    if isinstance(value, datetime | date | pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NaT or value is None:
        return None
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def access_report(
    con: duckdb.DuckDBPyConnection,
    employee_id: str,
    key: bytes,
    retention: RetentionConfig,
    today: date | None = None,
) -> dict[str, Any]:
    """Everything held about ``employee_id`` (``status``: held, erased or not_held)."""
    pk = person_key(employee_id, key)
    tables = []
    for table in catalog.person_tables(con):
        frame = con.execute(f"select * from {table} where person_key = ?", [pk]).df()
        if len(frame):
            tables.append({"table": table, "source": _source(table), "rows": _records(frame)})
    quarantined = _records(
        con.execute(
            "select source, file, row_number, payload, reason_code, reason, quarantined_at "
            "from audit.quarantine where contains(payload, ?) or contains(payload, ?)",
            [pk, json.dumps(employee_id)],
        ).df()
    )
    erased = person_token(pk, key) in {
        r[0] for r in con.execute("select token from audit.erasure_suppression").fetchall()
    }
    status = "held" if tables or quarantined else ("erased" if erased else "not_held")
    return {
        "generated_at": utcnow().isoformat(),
        "subject": {"employee_id": employee_id, "pseudonym (person_key)": pk},
        "status": status,
        "consent": _consent(con, pk),
        "recommendations_served_today": _served(con, pk, today),
        "data": tables,
        "quarantined_rows": quarantined,
        "retention": [vars(r) for r in retained(retention)],
        "about": "Every table of the warehouse that holds this person, with where its data "
        "comes from. Names and e-mail addresses are never stored; the e-mail appears only "
        "as keyed hashes. Sensitive attributes are used only by the fairness audit, never "
        "by the recommender. docs/privacy.md describes the processing.",
    }


def _consent(con: duckdb.DuckDBPyConnection, pk: str) -> dict[str, Any]:
    if not table_exists(con, "raw", "hr_personalisation_consent"):
        return {"opted_out": False, "history": []}
    history = _records(
        con.execute(
            "select opted_out, changed_at, _source_file from raw.hr_personalisation_consent "
            "where person_key = ? order by changed_at nulls first, _loaded_at",
            [pk],
        ).df()
    )
    latest = history[-1]["opted_out"] if history else False
    return {
        "opted_out": bool(latest),
        "meaning": "opted out: your learning history is not used to personalise "
        "recommendations (you get your role's path); the latest change counts",
        "history": history,
    }


def _served(con: duckdb.DuckDBPyConnection, pk: str, today: date | None) -> list[dict]:
    if not table_exists(con, "published", "current_recommendations"):
        return []
    frame, _ = serving_recommendations(con, today)
    return _records(frame[frame["person_key"] == pk])


def subject_access(settings: Settings, employee_id: str, out: Path) -> int:
    """The command: writes ``out`` (owner-only) and says what it holds; exit 0."""
    employee_id = employee_id.strip()
    if not employee_id:
        print("subject-access: --employee-id is empty", file=sys.stderr)
        return 1
    key = pseudonym_key(settings)
    if settings.warehouse.exists():
        with connect(settings.warehouse, read_only=True) as con:
            report = access_report(con, employee_id, key, settings.config.retention)
    else:
        report = {"status": "not_held", "subject": {"employee_id": employee_id}, "data": []}
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2, ensure_ascii=False, default=str)
    rows = sum(len(t["rows"]) for t in report["data"])
    print(
        f"{out}: {report['status']}; {rows} row(s) from {len(report['data'])} table(s). "
        "The file holds personal data: hand it to the person securely, then delete it."
    )
    return 0
