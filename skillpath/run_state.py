"""What ``skillpath status`` says about runs, beside publications: whether a command
holds the warehouse now, whether one was killed holding it and is not cleaned up yet,
and the last interruption that was (``audit.interrupted_runs``, written by
``orchestration.recovery``)."""

from __future__ import annotations

import json

import duckdb

from skillpath.lock import current_holder, held_here, read_holder
from skillpath.settings import Settings


def lock_lines(settings: Settings) -> list[str]:
    if held_here(settings):
        return []  # the summary of the command that holds it (skillpath run)
    holder = current_holder(settings.warehouse)
    if holder is not None:
        return [f"busy: {holder.describe()} is writing the warehouse"]
    last = read_holder(settings.warehouse)
    if last is not None and last.released_at is None:
        return [
            f"interrupted: {last.describe()} ended without finishing (killed?); it is "
            "cleaned up by the next command that writes (skillpath run, skillpath ingest): "
            "its Dagster run marked failed, its MLflow run KILLED"
        ]
    return []


def interruption_lines(con: duckdb.DuckDBPyConnection) -> list[str]:
    exists = con.execute(
        "select 1 from information_schema.tables "
        "where table_schema = 'audit' and table_name = 'interrupted_runs'"
    ).fetchone()
    if not exists:
        return []
    row = con.execute(
        """select command, pid, started_at, detected_at, detected_by, dagster_runs_failed,
                  mlflow_runs_killed, publications_interrupted
           from audit.interrupted_runs order by detected_at desc limit 1"""
    ).fetchone()
    if row is None:
        return []
    command, pid, started, detected, by, dagster, mlflow, publications = row
    lines = [
        f"last interrupted run: '{command}' (pid {pid}, started {started:%Y-%m-%d %H:%M} UTC), "
        f"cleaned up {detected:%Y-%m-%d %H:%M} UTC by '{by}'"
    ]
    for label, ids in (
        ("Dagster runs marked failed", dagster),
        ("MLflow runs marked KILLED", mlflow),
        ("publications left failed (the current one unchanged)", publications),
    ):
        if json.loads(ids or "[]"):
            lines.append(f"  {label}: {', '.join(json.loads(ids))}")
    return lines
