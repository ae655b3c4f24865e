"""Schedules: a daily ingestion (a safety net beside the landing sensor; re-running it
on unchanged files is a no-op). The publishing issue adds its weekly schedule here."""

import dagster as dg

from orchestration.jobs import ingest_job

daily_ingest = dg.ScheduleDefinition(
    name="daily_ingest",
    job=ingest_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Ingest new landing files every day at 05:00 UTC.",
)

SCHEDULES: list = [daily_ingest]
