"""Delivery semantics (docs/operations.md): which files are deliveries of which source,
when a file is a new delivery, in which order deliveries apply, and what a snapshot
means for the keys it no longer contains. Rows of the reliability issue's table are
named in the tests' docstrings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skillpath.ingest import SOURCES, ingest_all, ingest_source
from skillpath.ingest.landing import source_files, unmatched_files
from skillpath.ingest.ledger import accept_delivery
from skillpath.ingest.quality import quarantine_share
from skillpath.ingest.runner import prepare_connection
from skillpath.privacy import person_key
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.ingest.kit import landing, query

KEY = b"test-key-not-secret"
HEADER = (
    "employee_id,email,first_name,last_name,department,job_code,manager_id,location,"
    "hire_date,employment_type,status,leave_date\n"
)


def hr_export(ids: list[str], department: dict[str, str] | None = None) -> str:
    department = department or {}
    rows = [
        f"{i},{i.lower()}@example.org,First,Last,{department.get(i, 'Sales')},SAL1,,Lisbon,"
        "2020-01-01,full_time,active,\n"
        for i in ids
    ]
    return HEADER + "".join(rows)


def write(settings: Settings, relative: str, text: str, mtime: float | None = None) -> Path:
    path = settings.landing_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def current(settings: Settings, column: str, employee_id: str):
    """The latest stored value of an employee's column (what staging picks)."""
    [(value,)] = query(
        settings,
        f"select {column} from raw.hr_employees where person_key = ? "
        "order by _loaded_at desc, _source_file desc limit 1",
        [person_key(employee_id, KEY)],
    )
    return value


IDS = [f"E{n:03d}" for n in range(1, 11)]


def test_a_then_b_then_a_applies_a_again(skillpath_env: Path) -> None:
    """Table row 1: HR export A, then B (a department changed), then A again."""
    settings = Settings.from_env()
    a = hr_export(IDS)
    write(settings, "hr/employees.csv", a)
    ingest_source(settings, "hr_employees")
    write(settings, "hr/employees.csv", hr_export(IDS, {"E001": "Engineering"}))
    ingest_source(settings, "hr_employees")
    assert current(settings, "department", "E001") == "Engineering"
    write(settings, "hr/employees.csv", a)
    [again] = ingest_source(settings, "hr_employees").files
    assert current(settings, "department", "E001") == "Sales"
    assert (again.rows_in, again.rows_loaded, again.rows_duplicate) == (10, 1, 9)
    # identical to the latest delivery: a no-op
    result = ingest_source(settings, "hr_employees")
    assert result.files == [] and result.skipped == ["hr/employees.csv"]


def test_a_restored_good_file_clears_the_blocking_check(skillpath_env: Path) -> None:
    """Table row 2: a bad export, then the last good file restored byte for byte."""
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    catalog = settings.landing_dir / "lms/catalog.csv"
    good = catalog.read_bytes()
    ingest_all(settings)
    catalog.write_bytes(good.replace(b",course,", b",lecture,").replace(b",video,", b",film,"))
    ingest_all(settings)
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        assert not quarantine_share(con, "lms_catalog", 0.05).passed
    catalog.write_bytes(good)
    [restored] = ingest_source(settings, "lms_catalog").files
    assert restored.rows_in == restored.rows_duplicate == 4
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        assert quarantine_share(con, "lms_catalog", 0.05).passed


def test_dated_exports_are_deliveries_of_their_source(skillpath_env: Path) -> None:
    """Table row 4: hr/employees-2026-12.csv and hr/personalisation_consent-2026-12.csv
    were silently ignored."""
    settings = Settings.from_env()
    write(settings, "hr/employees-2026-11.csv", hr_export(IDS))
    write(settings, "hr/employees-2026-12.csv", hr_export(IDS, {"E002": "Finance"}))
    write(
        settings,
        "hr/personalisation_consent-2026-12.csv",
        "employee_id,opted_out,changed_at\nE003,true,2026-12-01T08:00:00Z\n",
    )
    write(settings, "hr/employes.csv", hr_export(IDS))  # misspelt: no source
    write(settings, "lms/statements/notes.txt", "not an export\n")
    results = {r.table: r for r in ingest_all(settings)}
    assert [f.file for f in results["hr_employees"].files] == [
        "hr/employees-2026-11.csv",
        "hr/employees-2026-12.csv",
    ]
    assert current(settings, "department", "E002") == "Finance"
    assert results["hr_personalisation_consent"].total("rows_loaded") == 1
    log = dict(
        query(settings, "select file, status from audit.ingest_log where status = 'unmatched'")
    )
    assert log == {"hr/employes.csv": "unmatched", "lms/statements/notes.txt": "unmatched"}
    # reported once per version of the file, not on every run
    ingest_all(settings)
    assert query(settings, "select count(*) from audit.ingest_log where status = 'unmatched'") == [
        (2,)
    ]


def test_deliveries_apply_in_file_name_order_then_modification_time(
    skillpath_env: Path,
) -> None:
    settings = Settings.from_env()
    write(settings, "hr/employees-b.csv", hr_export(IDS, {"E001": "B"}), mtime=1_000)
    write(settings, "hr/employees-a.csv", hr_export(IDS, {"E001": "A"}), mtime=2_000)
    write(settings, "hr/sub/x.csv", "")  # not a delivery: employees files sit in hr/
    [source] = [s for s in SOURCES if s.table == "hr_employees"]
    assert [f.relative for f in source_files(settings.landing_dir, source)] == [
        "hr/employees-a.csv",
        "hr/employees-b.csv",
    ]
    ingest_source(settings, "hr_employees")
    assert current(settings, "department", "E001") == "B"  # the later file name wins
    assert [f.relative for f in unmatched_files(settings.landing_dir)] == ["hr/sub/x.csv"]


def test_every_landing_name_belongs_to_at_most_one_source() -> None:
    names = [
        "hr/employees.csv",
        "hr/employees-2026-12.csv",
        "hr/Employees.CSV",
        "hr/role_skill_requirements.csv",
        "hr/roles_2026.csv",
        "hr/sensitive_attributes.csv",
        "lms/catalog-full.csv",
        "lms/content_skills.csv",
        "lms/statements/2026/01.jsonl.gz",
        "surveys/skill_assessments-q4.csv",
    ]
    for name in names:
        assert sum(s.matches(name) for s in SOURCES) == 1, name


def test_persons_absent_from_the_latest_snapshot_become_leavers(skillpath_env: Path) -> None:
    """Table row 3: a new HR snapshot without some persons left them active."""
    settings = Settings.from_env()
    write(settings, "hr/employees.csv", hr_export(IDS))
    ingest_source(settings, "hr_employees")
    write(settings, "hr/employees.csv", hr_export(IDS[:9]))  # E010 left: 10 % < 20 %
    [file] = ingest_source(settings, "hr_employees").files
    assert file.status == "loaded" and "1 active persons absent" in file.message
    assert current(settings, "status", "E010") == "leaver"
    assert current(settings, "department", "E010") == "Sales"  # the rest of the row kept
    assert current(settings, "leave_date", "E010") == file.delivered_at.date()
    assert current(settings, "status", "E009") == "active"
    # back in a later snapshot: active again
    write(settings, "hr/employees.csv", hr_export(IDS))
    ingest_source(settings, "hr_employees")
    assert current(settings, "status", "E010") == "active"


def test_a_truncated_snapshot_is_held_until_accepted(skillpath_env: Path) -> None:
    """Table row 3, guarded: 3 of 10 active persons missing (30 % > 20 %)."""
    settings = Settings.from_env()
    write(settings, "hr/employees.csv", hr_export(IDS))
    ingest_source(settings, "hr_employees")
    write(settings, "hr/employees.csv", hr_export(IDS[:7], {"E001": "Legal"}))
    [held] = ingest_source(settings, "hr_employees").files
    assert held.status == "suspect_truncated"
    assert "3 of 10 active persons" in held.message and "--accept hr/employees.csv" in held.message
    assert (held.rows_in, held.rows_quarantined, held.rows_loaded) == (7, 7, 0)
    assert current(settings, "status", "E010") == "active"  # nothing applied
    assert current(settings, "department", "E001") == "Sales"
    again = ingest_source(settings, "hr_employees")
    assert again.files == [] and again.held == ["hr/employees.csv"]
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        # a held file is not a broken one: the blocking check passes, the file is named
        verdict = quarantine_share(con, "hr_employees", 0.05)
        assert verdict.passed and "hr/employees.csv" in verdict.description
        accept_delivery(con, "hr/employees.csv", held.checksum)
    [applied] = ingest_source(settings, "hr_employees").files
    assert applied.status == "loaded"
    assert current(settings, "status", "E010") == "leaver"
    assert current(settings, "department", "E001") == "Legal"


def test_no_one_leaves_on_a_line_that_could_not_be_read(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    write(settings, "hr/employees.csv", hr_export(IDS))
    ingest_source(settings, "hr_employees")
    broken = hr_export(IDS[:9]) + "E010,e010@example.org,First,Last,Sales\n"  # cut short
    write(settings, "hr/employees.csv", broken)
    [file] = ingest_source(settings, "hr_employees").files
    assert file.status == "partial" and "NOT retired" in file.message
    assert current(settings, "status", "E010") == "active"


def test_removed_requirement_and_inactive_catalogue_item(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    requirements = "job_code,skill_id,required_level,importance\n" + "".join(
        f"SAL1,S{n},3,2\n" for n in range(10)
    )
    write(settings, "hr/role_skill_requirements.csv", requirements)
    ingest_source(settings, "hr_role_skill_requirements")
    write(settings, "hr/role_skill_requirements.csv", requirements.replace("SAL1,S9,3,2\n", ""))
    [file] = ingest_source(settings, "hr_role_skill_requirements").files
    assert "1 rows absent from this delivery removed" in file.message
    [(required, extra)] = query(
        settings,
        "select required_level, _extra from raw.hr_role_skill_requirements "
        "where skill_id = 'S9' order by _loaded_at desc limit 1",
    )
    assert required is None and "_retired_by" in extra

    catalog = "content_id,title,format,duration_minutes,level,language,provider,active\n"
    items = [f"https://lms.example.org/c{n},Course {n},course,60,1,en,X,true\n" for n in range(10)]
    write(settings, "lms/catalog.csv", catalog + "".join(items))
    ingest_source(settings, "lms_catalog")
    write(settings, "lms/catalog.csv", catalog + "".join(items[1:]))
    ingest_source(settings, "lms_catalog")
    [(active, title)] = query(
        settings,
        "select active, title from raw.lms_catalog where content_id like '%/c0' "
        "order by _loaded_at desc limit 1",
    )
    assert active is False and title == "Course 0"


@pytest.mark.parametrize("bad", ["0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z"])
def test_implausible_event_times_are_quarantined(skillpath_env: Path, bad: str) -> None:
    """Table row 9, for CSV sources: a time before SKILLPATH_EARLIEST_EVENT_DATE or more
    than a day after the delivery."""
    settings = Settings.from_env()
    write(settings, "hr/employees.csv", hr_export(IDS))
    write(
        settings,
        "hr/personalisation_consent.csv",
        f"employee_id,opted_out,changed_at\nE001,true,2024-03-01T08:00:00Z\nE002,true,{bad}\n",
    )
    ingest_all(settings)
    [(line, code, reason)] = query(
        settings,
        "select row_number, reason_code, reason from audit.quarantine "
        "where source = 'hr_personalisation_consent'",
    )
    assert (line, code) == (3, "implausible_time")
    assert "changed_at" in reason and "E002" not in reason


def test_the_earliest_event_date_is_configurable(skillpath_env: Path, monkeypatch) -> None:
    monkeypatch.setenv("SKILLPATH_EARLIEST_EVENT_DATE", "2024-06-01")
    settings = Settings.from_env()
    write(settings, "hr/employees.csv", hr_export(IDS))
    write(
        settings,
        "surveys/pulse.csv",
        "response_id,employee_id,survey_date,engagement,enps\n"
        "P1,E001,2024-05-31,4,9\nP2,E002,2024-06-01,4,9\n",
    )
    ingest_all(settings)
    assert query(settings, "select reason_code, row_number from audit.quarantine") == [
        ("implausible_time", 2)
    ]


def test_operations_doc_lists_every_source_and_status() -> None:
    """docs/operations.md is the operators' reference: every CSV source's pattern and
    every ingest status is in it."""
    from skillpath.ingest import ledger

    doc = (Path(__file__).parents[1] / "docs" / "operations.md").read_text()
    for source in SOURCES:
        if not source.is_statements:
            assert f"`{source.pattern}`" in doc, source.pattern
        assert f"`{source.table}`" in doc
    for status in (ledger.LOADED, ledger.PARTIAL, ledger.FAILED, ledger.HELD, ledger.UNMATCHED):
        assert f"| `{status}` |" in doc
