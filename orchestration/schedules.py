"""Schedules: a daily ingestion (a safety net beside the landing sensor; re-running it
on unchanged files is a no-op), a weekly retrain-and-publish, so new history reaches
people's lists even when no new landing file triggered a run, and a daily retention run
(storage limitation: docs/privacy.md)."""

import dagster as dg

from orchestration.jobs import ingest_job, retention, retrain_and_publish_job

daily_ingest = dg.ScheduleDefinition(
    name="daily_ingest",
    job=ingest_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Ingest new landing files every day at 05:00 UTC.",
)

weekly_retrain_and_publish = dg.ScheduleDefinition(
    name="weekly_retrain_and_publish",
    job=retrain_and_publish_job,
    cron_schedule="0 3 * * 1",  # Mondays 03:00, before people start their week
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuild marts, retrain, gate and publish every Monday at 03:00 UTC.",
)

daily_retention = dg.ScheduleDefinition(
    name="daily_retention",
    job=retention,
    cron_schedule="0 2 * * *",  # before the daily ingestion, so it never loads into a compaction
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Delete what is past its retention period every day at 02:00 UTC.",
)

SCHEDULES: list = [daily_ingest, weekly_retrain_and_publish, daily_retention]
