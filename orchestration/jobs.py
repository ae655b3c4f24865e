"""Jobs people run by name: ingestion alone, and the whole pipeline."""

import dagster as dg

ingest_job = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups(
        "ingest_landing", "ingest_hr", "ingest_lms", "ingest_surveys"
    ),
    description="Ingest new landing files into raw.* (validated, pseudonymised, quarantined).",
)

pipeline_job = dg.define_asset_job(
    "pipeline",
    selection=dg.AssetSelection.all(),
    description="Ingest, build marts, train and evaluate, gate and publish.",
)

retrain_and_publish_job = dg.define_asset_job(
    "retrain_and_publish",
    selection=dg.AssetSelection.groups("marts", "recommender", "publishing"),
    description="Rebuild marts, retrain and evaluate the recommender, gate and publish.",
)

JOBS = [ingest_job, pipeline_job, retrain_and_publish_job]
