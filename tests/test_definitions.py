"""The Dagster code location loads, with the jobs, schedules and sensor people rely on."""

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
