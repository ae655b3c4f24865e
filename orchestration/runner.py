"""Run a job of the Dagster definitions in this process, as ``skillpath run`` and
``skillpath ingest`` do, recording the run in the local Dagster instance so it shows
in ``make ui`` afterwards.

The terminal gets the job's stages (``orchestration.progress``) and a summary; Dagster's
console logger is silenced and every event of the run is written once, to the log file,
together with whatever dbt and the libraries print.

Exit codes (``skillpath.exit_codes``): 0 when the run succeeded (and, for the whole
pipeline, its publication went live); 2 when everything ran but a gate blocked the
publication (the previous one stays current); 1 when a step failed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from skillpath.console import LogSink, Terminal, captured
from skillpath.exit_codes import ExitCode
from skillpath.settings import Settings

if TYPE_CHECKING:  # Dagster is imported inside the functions: loading it is a timed stage
    import dagster as dg

    from orchestration.progress import RunProgress

log = logging.getLogger(__name__)

LOADING = "load the pipeline (Dagster, dbt manifest)"
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@contextmanager
def _dagster_logs_once() -> Iterator[None]:
    """Dagster captures its ``dagster`` Python logger into the run's event log, which the
    progress listener writes; letting it also reach the root logger would log it twice."""
    dagster_logger = logging.getLogger("dagster")
    before = dagster_logger.propagate
    dagster_logger.propagate = False
    try:
        yield
    finally:
        dagster_logger.propagate = before


def run_job(
    settings: Settings, job_name: str, progress: RunProgress | None = None
) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import code_location_tags, defs

    job = defs.resolve_job_def(job_name)
    from orchestration.instance import dagster_instance

    instance = dagster_instance(settings)
    run_id = str(uuid.uuid4())  # chosen here so the listener is attached before the run
    if progress is not None:
        instance.add_event_listener(run_id, progress)
    log.info("running job %r (landing %s), run %s", job_name, settings.landing_dir, run_id)
    return job.execute_in_process(
        run_config=QUIET_CONSOLE,
        instance=instance,
        raise_on_error=False,
        run_id=run_id,
        tags=code_location_tags(),  # listed under its job in make ui
    )


def failed_checks(
    result: dg.ExecuteInProcessResult, severity: dg.AssetCheckSeverity | None = None
) -> list[str]:
    """Checks of the run that failed with ``severity`` (ERROR, the default: what blocks;
    WARN: what a reviewer must look at)."""
    import dagster as dg

    severity = severity or dg.AssetCheckSeverity.ERROR
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


def outcome(failed_steps: list[str], publication_status: str | None) -> tuple[ExitCode, list[str]]:
    """The exit code, and the steps that failed for another reason than a gate: a failing
    blocking gate check fails the publication step, but that is a decision (recorded as
    ``blocked``), not a crash."""
    blocked = publication_status == "blocked"
    crashed = sorted(s for s in failed_steps if not (blocked and s.startswith("publication")))
    if crashed:
        return ExitCode.FAILED, crashed
    return (ExitCode.BLOCKED if blocked else ExitCode.OK), []


def run_pipeline(
    settings: Settings,
    job_name: str = "pipeline",
    terminal: Terminal | None = None,
    sink: LogSink | None = None,
) -> int:
    """Run the whole pipeline (or the ``ingest`` job alone) with progress on the terminal,
    print a summary and return the process exit code."""
    from skillpath.summary import render_summary

    terminal = terminal or Terminal()
    sink = sink or LogSink(None)
    terminal.start_stage(LOADING)
    try:
        with captured(sink), _dagster_logs_once():
            from orchestration.definitions import defs
            from orchestration.progress import RunProgress, stage_by_step

            job = defs.resolve_job_def(job_name)
            progress = RunProgress(stage_by_step(defs, job), terminal, sink)
            progress.loaded()
            result = run_job(settings, job_name, progress)
            progress.finish()
    except BaseException:
        terminal.end_stage("failed")
        raise
    pipeline = job_name == "pipeline"
    status = _publication_status(settings, result.run_id) if pipeline else None
    failed_steps = sorted({e.step_key for e in result.all_events if e.is_step_failure})
    code, crashed = outcome(failed_steps, status)
    summary = render_summary(settings, with_publication=pipeline)
    sink.line(summary)
    terminal.print(summary)
    where = f"{sink.path} and " if sink.path else ""
    if code == ExitCode.FAILED:
        final = f"run {result.run_id} FAILED in step(s): {', '.join(crashed)}"
        hint = f"details: {where}the Dagster UI (make ui)"
    elif code == ExitCode.BLOCKED:
        final = f"run {result.run_id}: publication BLOCKED by its gates; the previous one stays"
        hint = f"why: skillpath status, {where}the Dagster UI (make ui)"
    else:
        final = f"run {result.run_id} succeeded"
        hint = "Dagster UI: make ui, MLflow UI: make mlflow"
    terminal.print(f"{final} · {hint}", style="red" if code == ExitCode.FAILED else None)
    sink.line(final)
    return code


def run_retention(
    settings: Settings, terminal: Terminal | None = None, sink: LogSink | None = None
) -> int:
    """``skillpath retention``: the scheduled ``retention`` job, now, in this process."""
    terminal = terminal or Terminal()
    sink = sink or LogSink(None)
    terminal.start_stage("retention")
    with captured(sink), _dagster_logs_once():
        result = run_job(settings, "retention")
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    if not result.success or not outputs:
        terminal.end_stage("failed")
        terminal.print(
            f"run {result.run_id} FAILED: retention did not complete (make ui has the logs)",
            style="red",
        )
        return ExitCode.FAILED
    terminal.end_stage("")
    metadata = outputs[0].event_specific_data.metadata
    terminal.print(f"retention removed {metadata['rows_removed'].value} row(s):")
    for table, rows in sorted(metadata["by_table"].value.items()):
        terminal.print(f"  {table:<48} {rows:>9}")
    terminal.print("recorded in audit.retention_runs; periods: skillpath/config.toml [retention]")
    return ExitCode.OK
