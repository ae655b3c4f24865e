"""Run a job of the Dagster definitions in this process, as ``skillpath run`` and
``skillpath ingest`` do, recording the run in the local Dagster instance so it shows
in ``make ui`` afterwards."""

from __future__ import annotations

import logging
import os

import dagster as dg

from skillpath.settings import Settings

log = logging.getLogger(__name__)


def _instance(settings: Settings) -> dg.DagsterInstance:
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home, exist_ok=True)
    return dg.DagsterInstance.get()


def run_job(settings: Settings, job_name: str) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    job = defs.resolve_job_def(job_name)
    log.info("running job %r (warehouse %s)", job_name, settings.warehouse)
    return job.execute_in_process(instance=_instance(settings), raise_on_error=False)


def run_pipeline(settings: Settings, stages: tuple[str, ...] = ()) -> int:
    """Run the whole pipeline, or only ingestion when ``stages == ("ingest",)``;
    print a summary and return the process exit code."""
    from skillpath.summary import render_summary

    job_name = "ingest" if stages == ("ingest",) else "pipeline"
    result = run_job(settings, job_name)
    print(render_summary(settings))
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"\nrun {result.run_id} FAILED in step(s): {', '.join(failed) or '?'}")
        print("see the Dagster UI (make ui) for the logs of this run")
        return 1
    print(f"\nrun {result.run_id} succeeded; Dagster UI: make ui, MLflow UI: make mlflow")
    return 0
