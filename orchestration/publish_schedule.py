"""The weekly retrain-and-publish: new history since last week reaches people's lists
even when no new landing file triggered a run. Marts are rebuilt first so the model
trains on the current snapshot; ingestion has its own sensor/schedule.

The lead adds ``WEEKLY_PUBLISH_SCHEDULE`` to ``SCHEDULES`` in orchestration/schedules.py.
"""

import dagster as dg

retrain_and_publish_job = dg.define_asset_job(
    "retrain_and_publish",
    selection=dg.AssetSelection.groups("marts", "recommender", "publishing"),
    description="Rebuild marts, retrain and evaluate the recommender, gate and publish.",
)

WEEKLY_PUBLISH_SCHEDULE = dg.ScheduleDefinition(
    name="weekly_retrain_and_publish",
    job=retrain_and_publish_job,
    cron_schedule="0 3 * * 1",  # Mondays 03:00, before people start their week
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
