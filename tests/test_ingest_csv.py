"""CSV sources: BOM and CRLF, typing and validation per column, extra columns, files
that cannot be read or lack a required column (the others still load)."""

from __future__ import annotations

import json
from pathlib import Path

from skillpath.ingest import ingest_all, ingest_source
from skillpath.privacy import person_key
from tests.fixtures.ingest.kit import landing, query

KEY = b"test-key-not-secret"


def test_bom_crlf_hr_export(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv",))
    raw = (settings.landing_dir / "hr/employees.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # the fixture is what we test
    result = ingest_source(settings, "hr_employees")
    [file] = result.files
    assert (file.rows_in, file.rows_loaded, file.rows_quarantined) == (5, 4, 1)
    rows = query(
        settings,
        "select person_key, manager_key, employment_type, hire_date::varchar, leave_date, "
        "_extra from raw.hr_employees order by hire_date",
    )
    assert rows[0][:4] == (person_key("E001", KEY), None, "full_time", "2019-03-01")
    # "Full_Time" is accepted in any case; the leaver keeps a leave date
    carla = next(r for r in rows if r[0] == person_key("E003", KEY))
    assert carla[2] == "full_time" and str(carla[4]) == "2023-11-30"
    assert carla[1] == person_key("E001", KEY)
    # unknown extra columns are kept, personal-looking ones dropped and reported
    assert json.loads(rows[0][5]) == {"cost_center": "CC1"}
    assert "private_phone" in file.message and "cost_center" in file.message
    [(line, code, reason)] = query(
        settings, "select row_number, reason_code, reason from audit.quarantine"
    )
    assert (line, code) == (6, "invalid_type")
    assert "hire_date" in reason and "not_accepted" in reason


def test_values_are_checked_per_column(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "surveys/pulse.csv"))
    ingest_all(settings)
    quarantined = {
        line: (code, reason)
        for line, code, reason in query(
            settings,
            "select row_number, reason_code, reason from audit.quarantine "
            "where source = 'survey_pulse'",
        )
    }
    assert quarantined[4][0] == "unknown_employee"
    assert "E999" not in quarantined[4][1]  # identifiers are never quoted
    assert quarantined[5] == (
        "out_of_range",
        "surveys/pulse.csv line 5: column enps: 11 is outside 0–10",
    )
    assert quarantined[6][0] == "invalid_type" and "survey_date" in quarantined[6][1]
    assert query(settings, "select count(*) from raw.survey_pulse") == [(2,)]


def test_missing_required_column_fails_only_that_file(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    catalog = settings.landing_dir / "lms/catalog.csv"
    lines = catalog.read_text().splitlines()
    header = lines[0].split(",")
    drop = header.index("format")
    catalog.write_text(
        "\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != drop) for line in lines)
        + "\n"
    )
    results = {r.table: r for r in ingest_all(settings)}
    [failed] = results["lms_catalog"].files
    assert failed.status == "failed"
    assert (failed.rows_in, failed.rows_quarantined) == (4, 4)
    assert "lms/catalog.csv" in failed.message and "format" in failed.message
    [(code, row_number)] = query(
        settings,
        "select reason_code, row_number from audit.quarantine where source = 'lms_catalog'",
    )
    assert (code, row_number) == ("missing_column", None)
    assert results["hr_employees"].total("rows_loaded") == 4


def test_malformed_and_undecodable_rows(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv",))
    skills = settings.landing_dir / "skills/skills.csv"
    skills.parent.mkdir(parents=True)
    skills.write_bytes(
        b"skill_id,name,category,parent_skill_id\n"
        b"S1,Python,tech,\n"
        b"S2,SQL,tech,S1,unexpected\n"
        b'S3,"Negotiation, advanced",soft,\n'
        b"S4,Caf\xe9,soft,\n"
        b"S5,,soft,\n"
    )
    [file] = ingest_source(settings, "skills").files
    assert file.balanced and file.rows_in == 5
    assert file.rows_loaded == 2  # S1 and S3 (quoted comma)
    rows = query(
        settings,
        "select row_number, reason_code from audit.quarantine where source = 'skills' "
        "order by row_number",
    )
    assert rows == [(3, "malformed_row"), (5, "undecodable"), (6, "missing_value")]


def test_unreadable_file_is_recorded_and_run_goes_on(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    (settings.landing_dir / "hr/roles.csv").write_bytes(b"")
    results = {r.table: r for r in ingest_all(settings)}
    [roles] = results["hr_roles"].files
    assert roles.status == "failed" and "hr/roles.csv" in roles.message
    assert results["lms_catalog"].total("rows_loaded") == 4
