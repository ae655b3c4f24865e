"""skillpath subject-access: the person's rows, with their sources, and nobody else's."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path

import pytest

from skillpath.gdpr.access import subject_access
from skillpath.gdpr.erasure import erase
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.publish.warehouse import keys, seed_and_publish


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    settings = Settings.from_env()
    seed_and_publish(settings)
    with connect(settings.warehouse) as con:
        for employee, opted_out, at in (
            ("T-001", True, "2026-01-01"),
            ("T-001", False, "2026-02-01"),
            ("T-002", True, "2026-01-05"),
        ):
            con.execute(
                "insert into raw.hr_personalisation_consent (person_key, opted_out, changed_at, "
                "_source_file) values (?, ?, ?, 'hr/personalisation_consent.csv')",
                [keys(settings)[employee], opted_out, datetime.fromisoformat(at)],
            )
    return settings


def test_the_answer_holds_the_person_and_nobody_else(settings: Settings, tmp_path) -> None:
    out = tmp_path / "person.json"
    assert subject_access(settings, "T-001", out) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = out.read_text()
    others = [keys(settings)["T-002"], keys(settings)["T-003"], "T-002", "T-003"]
    assert not any(o in text for o in others)
    report = json.loads(text)
    assert report["status"] == "held"
    tables = {t["table"]: t for t in report["data"]}
    assert len(tables["published.recommendations"]["rows"]) == 2
    assert tables["published.recommendations"]["rows"][0]["reasons"] == [{"type": "model_match"}]
    assert tables["published.employee_directory"]["rows"][0]["employee_id"] == "T-001"
    assert "hr/personalisation_consent.csv" in tables["raw.hr_personalisation_consent"]["source"]
    assert report["consent"]["opted_out"] is False  # opted out, then back in: the latest
    assert len(report["consent"]["history"]) == 2
    assert len(report["recommendations_served_today"]) == 2
    assert {r["what"] for r in report["retention"]}


def test_an_erased_and_an_unknown_person(settings: Settings, tmp_path) -> None:
    assert erase(settings, ["T-002"]) == 0
    assert subject_access(settings, "T-002", tmp_path / "a.json") == 0
    assert json.loads((tmp_path / "a.json").read_text())["status"] == "erased"
    assert subject_access(settings, "NOBODY", tmp_path / "b.json") == 0
    report = json.loads((tmp_path / "b.json").read_text())
    assert report["status"] == "not_held" and report["data"] == []
