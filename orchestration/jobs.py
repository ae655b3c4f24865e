"""Jobs people run by name: ingestion alone, the whole pipeline, and retention."""

import dagster as dg

from orchestration.resources import SkillpathResource
from skillpath.gdpr.retention import EVENT_TABLES, apply_retention

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


@dg.op(out=dg.Out(dg.Nothing))
def apply_retention_periods(context: dg.OpExecutionContext, skillpath: SkillpathResource) -> None:
    """Delete what is past its retention period (``skillpath.gdpr.retention``); the counts
    go into this step's metadata, onto the raw assets as observations, and into
    ``audit.retention_runs``."""
    result = apply_retention(skillpath.settings())
    context.log.info(f"retention removed {result.total} row(s): {result.rows}")
    context.add_output_metadata(
        {
            "rows_removed": result.total,
            "by_table": dg.MetadataValue.json(result.rows),
            "cutoffs": dg.MetadataValue.json({k: v.isoformat() for k, v in result.cutoffs.items()}),
            "warehouse_compacted": bool(result.files),
        }
    )
    for table in EVENT_TABLES:
        schema, name = table.split(".")
        if schema == "raw" and table in result.rows:
            context.log_event(
                dg.AssetObservation(
                    asset_key=[schema, name],
                    metadata={"rows_removed_by_retention": result.rows[table]},
                )
            )


@dg.job(description="Delete what is past its retention period (docs/privacy.md, Retention).")
def retention() -> None:
    apply_retention_periods()


JOBS = [ingest_job, pipeline_job, retrain_and_publish_job, retention]
