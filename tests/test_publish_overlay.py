"""Opt-outs and departures apply to the current publication at once, even while the
next publication is blocked; erased persons never publish."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from skillpath.privacy import person_token
from skillpath.publish.commands import current_export
from skillpath.publish.publication import Candidate, publish
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect
from tests.fixtures.ml.holdout import failing_evaluation, passing_evaluation
from tests.fixtures.publish.warehouse import candidate_frame, keys, seed_ingestion

TODAY = date(2026, 6, 1)


def _role_paths(settings: Settings) -> pd.DataFrame:
    frame = candidate_frame(settings, tag="role")
    return frame.assign(personalised=False, reason_text="The role path.")


def _publish(settings: Settings, beats: bool = True):
    candidate = Candidate(
        candidate_frame(settings),
        "1",
        model_evaluation=passing_evaluation() if beats else failing_evaluation(),
        role_paths=_role_paths(settings),
    )
    return publish(settings, candidate, promote=lambda uri, v: "stub")


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    settings = Settings.from_env()
    seed_ingestion(settings)
    assert _publish(settings).status == "published"
    return settings


def _served(settings: Settings):
    with connect(settings.warehouse, read_only=True) as con:
        frame, _, overlay = current_export(con, TODAY)
    return {e: rows for e, rows in frame.groupby("employee_id")}, overlay


def _consent(settings: Settings, employee: str, opted_out: bool, changed_at: str) -> None:
    with connect(settings.warehouse) as con:
        con.execute(
            "insert into raw.hr_personalisation_consent (person_key, opted_out, changed_at, "
            "_source_file, _loaded_at) values (?, ?, ?, 'hr/c.csv', now()::timestamp)",
            [keys(settings)[employee], opted_out, datetime.fromisoformat(changed_at)],
        )


def test_an_objection_switches_the_current_list_to_the_role_path(settings: Settings) -> None:
    # the next publication is blocked: the current one stays, the objection still applies
    assert _publish(settings, beats=False).status == "blocked"
    _consent(settings, "T-001", True, "2026-05-01T10:00:00")
    served, overlay = _served(settings)
    assert set(served["T-001"]["content_id"]) == {"content-role-1", "content-role-2"}
    assert not served["T-001"]["personalised"].any()
    assert served["T-002"]["personalised"].all()  # nobody else changes
    assert overlay.switched_to_role_path == 1


def test_the_latest_consent_event_wins(settings: Settings) -> None:
    _consent(settings, "T-001", True, "2026-05-01T10:00:00")
    _consent(settings, "T-001", False, "2026-05-03T10:00:00")  # changed their mind
    _consent(settings, "T-002", False, "2026-05-04T10:00:00")
    _consent(settings, "T-002", True, "2026-05-05T10:00:00")
    served, _ = _served(settings)
    assert served["T-001"]["personalised"].all()
    assert not served["T-002"]["personalised"].any()


def test_a_leaver_is_served_nothing_from_the_leave_date(settings: Settings) -> None:
    with connect(settings.warehouse) as con:
        con.execute(
            "insert into raw.hr_employees (person_key, status, leave_date, _source_file, "
            "_loaded_at) values (?, 'active', ?, 'hr/e.csv', now()::timestamp), "
            "(?, 'active', ?, 'hr/e.csv', now()::timestamp)",
            [keys(settings)["T-001"], TODAY, keys(settings)["T-002"], date(2026, 7, 1)],
        )
    served, overlay = _served(settings)
    assert "T-001" not in served and "T-002" in served  # T-002 leaves next month
    assert overlay.withheld_leavers == 1


def test_a_publication_leaves_out_persons_on_the_suppression_list(settings: Settings) -> None:
    key = pseudonym_key(settings)
    erased = keys(settings)["T-003"]
    with connect(settings.warehouse) as con:
        con.execute("insert into audit.erasure_suppression values (?)", [person_token(erased, key)])
    result = _publish(settings)
    with connect(settings.warehouse, read_only=True) as con:
        for table in ("recommendations", "role_path_fallbacks"):
            [(n,)] = con.execute(
                f"select count(*) from published.{table} where publication_id = ? "
                "and person_key = ?",
                [result.publication_id, erased],
            ).fetchall()
            assert n == 0
        [(others,)] = con.execute(
            "select count(distinct person_key) from published.recommendations "
            "where publication_id = ?",
            [result.publication_id],
        ).fetchall()
    assert others == 2
