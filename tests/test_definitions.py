"""The Dagster code location loads, with the jobs, schedules and sensor people rely on."""

import re
import tomllib
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs


def _job_assets(job_name: str) -> set[str]:
    job = defs.resolve_job_def(job_name)
    return {key.to_user_string() for key in job.asset_layer.executable_asset_keys}


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert {"ingest", "pipeline", "retrain_and_publish"} <= set(repo.job_names)


def test_every_stage_is_in_the_pipeline() -> None:
    assets = _job_assets("pipeline")
    assert {"raw/lms_statements", "marts/mart_skill_gaps", "recommender_model"} <= assets
    assert {"model_evaluation", "publication", "org_skill_gap_heatmap"} <= assets


def test_weekly_retrain_rebuilds_marts_and_publishes_without_ingesting() -> None:
    schedule = defs.resolve_schedule_def("weekly_retrain_and_publish")
    assets = _job_assets(schedule.job_name)
    assert {"marts/fct_content_engagement", "recommender_model", "publication"} <= assets
    assert not any(key.startswith("raw/") for key in assets)


def test_ingestion_runs_on_new_files_and_daily() -> None:
    assert defs.resolve_schedule_def("daily_ingest").job_name == "ingest"
    sensor = defs.resolve_sensor_def("landing_sensor")
    assert [job.name for job in sensor.jobs] == ["ingest"]


def test_make_ui_names_the_code_location_and_lists_cli_runs_under_their_job(
    skillpath_env,
) -> None:
    """`make ui` runs `dagster dev` without -m, so pyproject's [tool.dagster] names the
    module and the location; a run of `skillpath ingest`/`run` carries that location's
    label, which is what the UI filters a job's runs by."""
    from dagster._core.storage.dagster_run import RunsFilter

    from orchestration.definitions import CODE_LOCATION, code_location_tags
    from orchestration.runner import run_job
    from skillpath.settings import Settings

    root = Path(__file__).resolve().parents[1]
    block = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["dagster"]
    assert block["module_name"] == "orchestration.definitions"
    assert block["code_location_name"] == CODE_LOCATION
    assert re.search(r"^\s*\$\(BIN\)/dagster dev -p \d+$", (root / "Makefile").read_text(), re.M)

    settings = Settings.from_env()
    result = run_job(settings, "ingest")  # an empty landing directory: a quick run
    runs = dg.DagsterInstance.get().get_runs(
        RunsFilter(job_name="ingest", tags=code_location_tags())
    )
    assert [run.run_id for run in runs] == [result.run_id]
