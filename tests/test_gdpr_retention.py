"""Retention removes exactly what is past its period, records it and compacts; the
scheduled Dagster job reports the counts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from skillpath.gdpr.retention import apply_retention
from skillpath.publish.publication import Candidate, publish
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.ml.holdout import failing_evaluation, passing_evaluation
from tests.fixtures.publish.warehouse import candidate_frame, keys, seed_ingestion

NOW = datetime(2026, 12, 1, 12, 0)
# 24 months of events, 90 days of payloads, 12 months of old publications (config.toml)
EVENTS_CUT, PAYLOADS_CUT, PUBLICATIONS_CUT = (
    datetime(2024, 12, 1, 12, 0),
    NOW - timedelta(days=90),
    datetime(2025, 12, 1, 12, 0),
)
SECOND = timedelta(seconds=1)


def _publish(settings: Settings, when: datetime, beats: bool = True) -> str:
    candidate = Candidate(
        candidate_frame(settings, tag=when.isoformat()),
        "1",
        model_evaluation=passing_evaluation() if beats else failing_evaluation(),
        role_paths=candidate_frame(settings, tag="role"),
    )
    return publish(settings, candidate, now=when, promote=lambda u, v: "stub").publication_id


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    settings = Settings.from_env()
    seed_ingestion(settings)
    person = keys(settings)["T-001"]
    with connect(settings.warehouse) as con:
        for i, at in enumerate((EVENTS_CUT - SECOND, EVENTS_CUT, EVENTS_CUT + SECOND, NOW)):
            con.execute(
                "insert into raw.lms_statements (statement_id, person_key, timestamp) "
                "values (?, ?, ?)",
                [f"s{i}", person, at],
            )
            # a date is past the period once the cutoff's day begins: 2024-11-30 goes
            con.execute(
                "insert into raw.survey_pulse (response_id, person_key, survey_date) "
                "values (?, ?, ?)",
                [f"p{i}", person, at.date() - timedelta(days=1 if i == 0 else 0)],
            )
        for i, at in enumerate((PAYLOADS_CUT - SECOND, PAYLOADS_CUT + SECOND)):
            con.execute(
                "insert into audit.quarantine values ('hr', 'f', ?, '{\"x\": 1}', 'bad', 'r', ?)",
                [i, at],
            )
    return settings


def test_retention_removes_exactly_what_is_past_its_period(settings: Settings) -> None:
    old_current = _publish(settings, PUBLICATIONS_CUT - timedelta(days=30))
    old_blocked = _publish(settings, PUBLICATIONS_CUT - timedelta(days=20), beats=False)
    recent_blocked = _publish(settings, PUBLICATIONS_CUT + timedelta(days=1), beats=False)

    result = apply_retention(settings, now=NOW)

    assert result.rows["raw.lms_statements"] == 1 and result.rows["raw.survey_pulse"] == 1
    assert result.rows["audit.quarantine (payloads)"] == 1
    with connect(settings.warehouse, read_only=True) as con:
        ids = {r[0] for r in con.execute("select statement_id from raw.lms_statements").fetchall()}
        assert ids == {"s1", "s2", "s3"}  # the event exactly at the cutoff stays
        days = con.execute("select count(*) from raw.survey_pulse").fetchall()
        assert days == [(3,)]
        payloads = con.execute(
            "select row_number, payload is null from audit.quarantine where file = 'f' "
            "order by row_number"
        ).fetchall()
        assert payloads == [(0, True), (1, False)]  # the row stays, its payload goes
        kept = {
            r[0]
            for r in con.execute(
                "select distinct publication_id from published.recommendations"
            ).fetchall()
        }
        # the current one stays however old; the old blocked one goes; the recent stays
        assert kept == {old_current, recent_blocked}
        assert old_blocked not in {
            r[0]
            for r in con.execute(
                "select distinct publication_id from published.role_path_fallbacks"
            ).fetchall()
        }
        [(cuts, rows, done)] = con.execute(
            "select cutoffs, rows_removed, completed_at from audit.retention_runs"
        ).fetchall()
    assert json.loads(rows)["published.recommendations"] == 6
    assert json.loads(cuts)["events"] == EVENTS_CUT.isoformat()
    assert done is not None and result.files["warehouse_bytes"] > 0  # compacted

    again = apply_retention(settings, now=NOW)
    assert again.total == 0


def test_the_scheduled_job_reports_its_counts(settings: Settings) -> None:
    from orchestration.definitions import defs

    result = defs.resolve_job_def("retention").execute_in_process(raise_on_error=False)
    assert result.success
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    # wall-clock now (December 2026 or later): the events of 2024 are past 24 months
    assert metadata["by_table"].value["raw.lms_statements"] >= 1
    observed = [e for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert {tuple(e.asset_key.path) for e in observed} >= {("raw", "lms_statements")}
