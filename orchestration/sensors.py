"""Sensors: start ingestion when files in the landing directory are new or changed.

The cursor is a digest of every file's size and modification time: cheap enough to
compute every minute, and a run that finds nothing new is a no-op anyway (the ledger
compares real checksums)."""

import hashlib
import json

import dagster as dg

from orchestration.jobs import ingest_job
from orchestration.resources import SkillpathResource
from skillpath.ingest.landing import landing_fingerprint


def landing_digest(fingerprint: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Runs the ingest job when files in SKILLPATH_LANDING_DIR are new or changed.",
)
def landing_sensor(context: dg.SensorEvaluationContext, skillpath: SkillpathResource):
    fingerprint = landing_fingerprint(skillpath.settings().landing_dir)
    if not fingerprint:
        return dg.SkipReason("the landing directory is empty or missing")
    digest = landing_digest(fingerprint)
    if digest == context.cursor:
        return dg.SkipReason("no new or changed landing files")
    context.update_cursor(digest)
    return dg.RunRequest(run_key=digest, tags={"skillpath/landing_files": str(len(fingerprint))})


SENSORS: list = [landing_sensor]
