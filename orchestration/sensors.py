"""Sensors: start ingestion when the landing directory holds files the ingest ledger has
not ingested.

Two steps per tick. A cheap digest of every file's size and modification time (the
cursor) says whether anything changed since the last tick; only then are the files
checksummed and compared with the ledger (``skillpath.ingest.pending``), and a run is
requested only when some file is a new delivery. So the first tick of a UI started after
``make demo`` launches nothing (``skillpath run`` ingested every file), while files that
arrived in between are still picked up.
"""

import hashlib
import json

import dagster as dg
import duckdb

from orchestration.jobs import ingest_job
from orchestration.resources import SkillpathResource
from skillpath.ingest.landing import landing_fingerprint
from skillpath.ingest.pending import new_deliveries
from skillpath.lock import current_holder


def landing_digest(fingerprint: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Runs the ingest job when SKILLPATH_LANDING_DIR holds files the ingest ledger "
        "(audit.ingest_log) has not ingested."
    ),
)
def landing_sensor(context: dg.SensorEvaluationContext, skillpath: SkillpathResource):
    settings = skillpath.settings()
    fingerprint = landing_fingerprint(settings.landing_dir)
    if not fingerprint:
        return dg.SkipReason(f"the landing directory {settings.landing_dir} is empty or missing")
    digest = landing_digest(fingerprint)
    if digest == context.cursor:
        return dg.SkipReason("no landing file changed since the last check")
    holder = current_holder(settings.warehouse)
    if holder is not None:  # the cursor stays: the files are picked up once it is free
        return dg.SkipReason(f"new landing files wait: {holder.describe()} holds the warehouse")
    try:
        pending = new_deliveries(settings.landing_dir, settings.warehouse)
    except duckdb.IOException:
        # the cursor stays: the same files are compared again at the next tick
        return dg.SkipReason("the warehouse is in use by a run; checking again at the next tick")
    context.update_cursor(digest)
    if not pending:
        return dg.SkipReason(f"all {len(fingerprint)} landing files are already ingested")
    context.log.info("new or changed landing files: %s", ", ".join(pending[:20]))
    return dg.RunRequest(run_key=digest, tags={"skillpath/new_files": str(len(pending))})


SENSORS: list = [landing_sensor]
