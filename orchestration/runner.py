"""Run a job of the Dagster definitions in this process, as ``skillpath run`` and
``skillpath ingest`` do, recording the run in the local Dagster instance so it shows
in ``make ui`` afterwards.

Exit codes: 0 when the run succeeded (and, for the whole pipeline, its publication went
live); 2 when everything ran but a gate blocked the publication (the previous one stays
current); 1 when a step failed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dagster as dg

from skillpath.settings import Settings

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_BLOCKED = 0, 1, 2


def _instance(settings: Settings) -> dg.DagsterInstance:
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # local storage under DAGSTER_HOME; an offline host sends no telemetry, and the UI
        # shows no newsletter sign-up (it loads a frame from the internet)
        config.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    return dg.DagsterInstance.get()


def run_job(settings: Settings, job_name: str) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import code_location_tags, defs

    job = defs.resolve_job_def(job_name)
    log.info("running job %r (landing %s)", job_name, settings.landing_dir)
    # step events go to the instance (make ui); the console gets INFO and above
    level = "DEBUG" if log.isEnabledFor(logging.DEBUG) else "INFO"
    return job.execute_in_process(
        run_config={"loggers": {"console": {"config": {"log_level": level}}}},
        instance=_instance(settings),
        raise_on_error=False,
        tags=code_location_tags(),  # listed under its job in make ui
    )


def failed_checks(
    result: dg.ExecuteInProcessResult,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> list[str]:
    """Checks of the run that failed with ``severity`` (ERROR: what blocks; WARN: what a
    reviewer must look at)."""
    return [
        f"{e.asset_check_evaluation_data.asset_key.to_user_string()}:"
        f"{e.asset_check_evaluation_data.check_name}"
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
        and e.asset_check_evaluation_data.severity == severity
    ]


def _publication_status(settings: Settings, run_id: str) -> str | None:
    import duckdb

    from skillpath.warehouse import connect

    try:
        with connect(settings.warehouse, read_only=True) as con:
            row = con.execute(
                "select status from published.publications where run_id = ?"
                " order by created_at desc limit 1",
                [run_id],
            ).fetchone()
    except (duckdb.Error, OSError):  # the publishing stage never got to create its table
        return None
    return row[0] if row else None


def run_pipeline(settings: Settings, job_name: str = "pipeline") -> int:
    """Run the whole pipeline (or the ``ingest`` job alone), print a summary and return
    the process exit code."""
    from skillpath.summary import render_summary

    result = run_job(settings, job_name)
    print(render_summary(settings, with_publication=job_name == "pipeline"))
    failed_steps = sorted({e.step_key for e in result.all_events if e.is_step_failure})
    checks = failed_checks(result)
    if checks:
        print("\nchecks that failed (details in the Dagster UI, make ui):")
        print("\n".join(f"  - {name}" for name in checks))
    warned = failed_checks(result, dg.AssetCheckSeverity.WARN)
    if warned:
        print("\nchecks with warnings (details in the Dagster UI, make ui):")
        print("\n".join(f"  - {name}" for name in warned))
    status = _publication_status(settings, result.run_id) if job_name == "pipeline" else None
    # a failing blocking gate check fails the publication step; that is a decision
    # (recorded as ``blocked``), not a crash
    crashed = [s for s in failed_steps if not (s.startswith("publication") and status == "blocked")]
    if crashed:
        print(f"\nrun {result.run_id} FAILED in step(s): {', '.join(crashed)}")
        print("the Dagster UI (make ui) has the logs of this run")
        return EXIT_FAILED
    if status == "blocked":
        print(f"\nrun {result.run_id}: publication BLOCKED by its gates; the previous one stays")
        return EXIT_BLOCKED
    print(f"\nrun {result.run_id} succeeded; Dagster UI: make ui, MLflow UI: make mlflow")
    return EXIT_OK


def run_retention(settings: Settings) -> int:
    """``skillpath retention``: the scheduled ``retention`` job, now, in this process."""
    result = run_job(settings, "retention")
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    if not result.success or not outputs:
        print(f"run {result.run_id} FAILED: retention did not complete (make ui has the logs)")
        return EXIT_FAILED
    metadata = outputs[0].event_specific_data.metadata
    print(f"retention removed {metadata['rows_removed'].value} row(s):")
    for table, rows in sorted(metadata["by_table"].value.items()):
        print(f"  {table:<48} {rows:>9}")
    print("recorded in audit.retention_runs; periods: skillpath/config.toml [retention]")
    return EXIT_OK
