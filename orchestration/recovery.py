"""Cleaning up after a command that was killed while it held the warehouse.

A process killed with SIGKILL (or by the kernel's OOM killer, or a power cut) runs no
``finally``: its Dagster run stays ``STARTED``, its MLflow run ``RUNNING``, forever. The
run-level lock (``skillpath.lock``) notices such a holder the next time a command takes
it; ``locked`` then, before anything else:

- marks the holder's Dagster runs that are not finished as failed (they are listed in
  the lock file as they start);
- marks the MLflow runs the holder left ``RUNNING`` as ``KILLED`` (runs started by the
  same program during the holder's time, in the ``skillpath`` experiment);
- records the interruption in ``audit.interrupted_runs`` (``skillpath status`` shows
  it), with the publication that was being written, if any (it stays ``failed``, the
  current one untouched: ``skillpath.publish.writer``).

Its dbt child was killed with it (``orchestration.dbt_guard``); the warehouse itself
needs nothing: every write is a transaction, which DuckDB rolls back on the next open.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from skillpath.gdpr.erasure import finish_pending
from skillpath.lock import Holder, LockSession, held_here, run_lock
from skillpath.settings import Settings
from skillpath.warehouse import connect, ensure_layout

log = logging.getLogger(__name__)

_SLACK_MS = 5_000  # clocks of the lock file and of MLflow's store are the same host's


@dataclass
class Recovery:
    holder: Holder
    dagster_runs: list[str] = field(default_factory=list)
    mlflow_runs: list[str] = field(default_factory=list)
    publications: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = [f"{self.holder.describe()} was interrupted (killed?) while it held the warehouse"]
        if self.dagster_runs:
            parts.append(f"Dagster run(s) marked failed: {', '.join(self.dagster_runs)}")
        if self.mlflow_runs:
            parts.append(f"MLflow run(s) marked KILLED: {', '.join(self.mlflow_runs)}")
        if self.publications:
            parts.append(
                f"publication(s) left failed, the current one unchanged: "
                f"{', '.join(self.publications)}"
            )
        return "; ".join(parts)


def _started(holder: Holder) -> datetime:
    return datetime.strptime(holder.started_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _fail_dagster_runs(settings: Settings, holder: Holder, by: str) -> list[str]:
    if not holder.dagster_runs:
        return []
    import dagster as dg

    from orchestration.instance import dagster_instance

    instance = dagster_instance(settings)
    unfinished = (
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    )
    failed = []
    for run_id in holder.dagster_runs:
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in unfinished:
            instance.report_run_failed(
                run,
                f"interrupted: the process running it ({holder.describe()}) ended without "
                f"finishing it (killed?); marked failed by '{by}'",
            )
            failed.append(run_id)
    return failed


def _kill_mlflow_runs(settings: Settings, holder: Holder) -> list[str]:
    """RUNNING runs of the skillpath experiment that the holder's program started
    during its time (``mlflow.source.name`` is the program's argv[0])."""
    from mlflow.tracking import MlflowClient

    from ml.tracking import EXPERIMENT

    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    since = int(_started(holder).timestamp() * 1000) - _SLACK_MS
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and attributes.start_time >= {since}",
    )
    killed = []
    for run in runs:
        if holder.program and run.data.tags.get("mlflow.source.name") != holder.program:
            continue
        client.set_tag(run.info.run_id, "skillpath.interrupted", "killed with its process")
        client.set_terminated(run.info.run_id, status="KILLED")
        killed.append(run.info.run_id)
    return killed


def _interrupted_publications(con, holder: Holder) -> list[str]:
    from skillpath.publish.tables import FAILED, table_exists
    from skillpath.publish.writer import INTERRUPTED

    if not holder.dagster_runs or not table_exists(con, "published", "publications"):
        return []
    marks = ", ".join("?" for _ in holder.dagster_runs)
    rows = con.execute(
        f"select publication_id from published.publications where run_id in ({marks}) "
        "and status = ? and message = ? order by publication_id",
        [*holder.dagster_runs, FAILED, INTERRUPTED],
    ).fetchall()
    return [r[0] for r in rows]


def recover(settings: Settings, holder: Holder, by: str) -> Recovery:
    """Clean up after ``holder`` (dead); each part is attempted even if another fails."""
    recovery = Recovery(holder)
    for attempt, target in (
        (lambda: _fail_dagster_runs(settings, holder, by), recovery.dagster_runs),
        (lambda: _kill_mlflow_runs(settings, holder), recovery.mlflow_runs),
    ):
        try:
            target.extend(attempt())
        except Exception as exc:  # one store out of reach must not block the others
            log.warning("cleaning up after the interrupted run: %s: %s", type(exc).__name__, exc)
    with connect(settings.warehouse) as con:
        ensure_layout(con)
        recovery.publications = _interrupted_publications(con, holder)
        con.execute(
            "insert into audit.interrupted_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                holder.command,
                holder.pid,
                holder.host,
                _started(holder).replace(tzinfo=None),
                datetime.now(UTC).replace(tzinfo=None),
                by,
                json.dumps(recovery.dagster_runs),
                json.dumps(recovery.mlflow_runs),
                json.dumps(recovery.publications),
            ],
        )
    return recovery


@contextlib.contextmanager
def locked(
    settings: Settings, command: str, wait_seconds: float | None = None
) -> Iterator[LockSession]:
    """The run-level lock for ``command``, after cleaning up what a killed holder left.
    Raises ``skillpath.lock.LockBusy``."""
    entered_again = held_here(settings)
    with run_lock(settings, command, wait_seconds) as session:
        if session.interrupted is not None:
            recovery = recover(settings, session.interrupted, command)
            log.warning("%s", recovery.describe())
            session.interrupted = None
        if not entered_again:
            # an erasure or retention run whose files were not cleaned yet (interrupted
            # after its commit) is finished by the next command that takes the warehouse
            finish_pending(settings)
        yield session
