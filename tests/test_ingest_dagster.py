"""The Dagster wiring: assets write raw.* with their counts as metadata, the checks
pass on good data and the blocking ones fail on a broken file or a missing HR export,
the sensor starts a run only for landing files the ingest ledger has not ingested."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.assets.ingest import INGEST_ASSETS
from orchestration.checks.ingest import INGEST_CHECKS
from orchestration.resources import SkillpathResource
from orchestration.sensors import landing_sensor
from skillpath.ingest import ingest_all
from skillpath.ingest.quality import expectations
from skillpath.warehouse import connect
from tests.fixtures.ingest.kit import landing


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()}


def _asset_of(check: dg.AssetChecksDefinition) -> dg.AssetKey:
    return next(iter(check.check_keys)).asset_key


def _materialize(selection: list[str] | None = None) -> dg.ExecuteInProcessResult:
    assets = [a for a in INGEST_ASSETS if selection is None or a.key.path[-1] in selection]
    keys = {a.key for a in assets}
    checks = [c for c in INGEST_CHECKS if _asset_of(c) in keys]
    return dg.materialize(
        [*assets, *checks],
        resources={"skillpath": SkillpathResource()},
        raise_on_error=False,
    )


def test_assets_and_checks_on_the_fixture(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    landing(skillpath_env)
    monkeypatch.setenv("SKILLPATH_MAX_QUARANTINE_SHARE", "0.5")  # HR: 1 of 5 rows bad
    result = _materialize()
    assert not result.success  # blocking checks failed (below)
    meta = result.asset_materializations_for_node("raw__lms_statements")[0].metadata
    assert meta["rows_in"].value == 30
    assert (
        meta["rows_loaded"].value
        + meta["rows_quarantined"].value
        + meta["rows_duplicate"].value
        + meta["rows_erased"].value
        == 30
    )
    checks = _checks(result)
    assert checks[("hr_employees", "source_present")].passed
    assert checks[("hr_employees", "expectations")].passed
    # 20 of 24 lines of one statements file are quarantined (a fixture of bad rows)
    share = checks[("lms_statements", "quarantine_share")]
    assert not share.passed and share.severity == dg.AssetCheckSeverity.ERROR
    assert "lms/statements/2024-01.jsonl" in share.description
    # survey: 3 of 5 rows bad, optional source: still blocking
    assert not checks[("survey_pulse", "quarantine_share")].passed
    assert checks[("lms_catalog", "quarantine_share")].passed


def test_missing_hr_export_blocks(skillpath_env: Path) -> None:
    landing(skillpath_env, ("lms/catalog.csv",))
    result = _materialize(["hr_employees", "lms_catalog"])
    checks = _checks(result)
    present = checks[("hr_employees", "source_present")]
    assert not present.passed and present.severity == dg.AssetCheckSeverity.ERROR
    assert "hr/employees.csv" in present.description
    assert checks[("lms_catalog", "source_present")].passed


def test_blocking_checks_are_declared() -> None:
    blocking = {
        (_asset_of(c).path[-1], spec.name)
        for c in INGEST_CHECKS
        for spec in c.check_specs
        if spec.blocking
    }
    assert ("hr_employees", "source_present") in blocking
    assert ("lms_statements", "quarantine_share") in blocking
    assert ("survey_pulse", "source_present") not in blocking


def test_expectations_fail_on_a_planted_violation(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "surveys/pulse.csv"))
    ingest_all(settings)
    with connect(settings.warehouse) as con:
        assert expectations(con, "survey_pulse").passed
        con.execute(
            "insert into raw.survey_pulse (response_id, person_key, survey_date, engagement) "
            "values ('P9', 'not-a-person', date '2024-01-01', 9)"
        )
        verdict = expectations(con, "survey_pulse")
        stored = con.execute(
            "select expectation, column_name from audit.validation_results where not success"
        ).fetchall()
    assert not verdict.passed
    assert ("expect_column_values_to_be_between", "engagement") in stored
    assert ("expect_column_values_to_be_in_set", "person_key") in stored


def _tick(resources: dict, cursor: str | None = None) -> tuple[object, str | None]:
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return landing_sensor(context), context.cursor


def test_sensor_launches_only_for_files_the_ledger_has_not_ingested(skillpath_env: Path) -> None:
    # a catalogue and a file ingestion never reads (not a statement export)
    settings = landing(skillpath_env, ("lms/catalog.csv", "lms/statements/README.txt"))
    resources = {"skillpath": SkillpathResource()}
    before, _ = _tick(resources)
    assert isinstance(before, dg.RunRequest)  # nothing ingested yet

    ingest_all(settings)  # what `skillpath run` (make demo) does before the UI starts
    first, cursor = _tick(resources)  # the first tick of a freshly started UI: no cursor
    assert isinstance(first, dg.SkipReason) and "already ingested" in first.skip_message
    assert cursor is not None
    unchanged, _ = _tick(resources, cursor)
    assert isinstance(unchanged, dg.SkipReason)

    (settings.landing_dir / "surveys").mkdir()
    (settings.landing_dir / "surveys/pulse.csv").write_text("response_id\n")
    arrived, _ = _tick(resources, cursor)
    assert isinstance(arrived, dg.RunRequest)
    assert arrived.tags["skillpath/new_files"] == "1"


def test_a_broken_hr_file_blocks_everything_downstream(skillpath_env: Path) -> None:
    landing(skillpath_env)  # 20% of the HR rows are quarantined, limit 5%
    result = _materialize()
    assert not _checks(result)[("hr_employees", "quarantine_share")].passed
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert "hr_employees" in materialized and "lms_catalog" in materialized
    assert "lms_statements" not in materialized and "survey_pulse" not in materialized


@pytest.mark.parametrize("limit, passed", [("0.25", True), ("0.1", False)])
def test_quarantine_limit_is_configurable(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch, limit: str, passed: bool
) -> None:
    landing(skillpath_env, ("hr/employees.csv",))  # 1 of 5 rows quarantined: 20%
    monkeypatch.setenv("SKILLPATH_MAX_QUARANTINE_SHARE", limit)
    result = _materialize(["hr_employees"])
    assert _checks(result)[("hr_employees", "quarantine_share")].passed is passed
