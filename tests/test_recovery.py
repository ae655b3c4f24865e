"""Crash cleanup: a run killed with SIGKILL leaves its Dagster run STARTED and its MLflow
run RUNNING; the next command that takes the lock marks them failed / KILLED, records
the interruption, and `skillpath status` shows it. dbt dies with the process that
started it. Rows of the reliability issue's table are named in the docstrings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import psutil
from mlflow.tracking import MlflowClient

from orchestration.dbt_guard import PARENT_ENV, TARGET_ENV
from orchestration.instance import dagster_instance
from orchestration.recovery import locked
from skillpath.lock import read_holder
from skillpath.publish.commands import render_status
from skillpath.settings import Settings
from tests.fixtures.ingest.kit import query

# A Dagster run (through the resource that takes the lock, as every run does) whose op
# opens an MLflow run and then hangs, as training does for minutes.
TRAINING = textwrap.dedent(
    """
    import time
    import dagster as dg
    from ml import tracking
    from orchestration.resources import SkillpathResource
    from orchestration.instance import dagster_instance
    from skillpath.settings import Settings

    @dg.op
    def train(skillpath: SkillpathResource):
        settings = skillpath.settings()
        tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
        with tracking.start_run():
            print("training", flush=True)
            time.sleep(600)

    @dg.job
    def pipeline():
        train()

    pipeline.execute_in_process(
        resources={"skillpath": SkillpathResource()},
        instance=dagster_instance(Settings.from_env()),
    )
    """
)


def test_a_killed_run_is_failed_killed_and_reported(skillpath_env: Path) -> None:
    """Table row 12: kill -9 during training left the MLflow run RUNNING and the Dagster
    run STARTED, forever."""
    settings = Settings.from_env()
    process = subprocess.Popen(
        [sys.executable, "-c", TRAINING],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout.readline().strip() == "training"
    [run_id] = read_holder(settings.warehouse).dagster_runs
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    instance = dagster_instance(settings)
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    client = MlflowClient(settings.mlflow_tracking_uri)
    [mlflow_run] = client.search_runs(client.get_experiment_by_name("skillpath").experiment_id)
    assert mlflow_run.info.status == "RUNNING"

    with locked(settings, "skillpath run"):
        pass

    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert client.get_run(mlflow_run.info.run_id).info.status == "KILLED"
    [(command, failed, killed)] = query(
        settings,
        "select command, dagster_runs_failed, mlflow_runs_killed from audit.interrupted_runs",
    )
    assert command.startswith("dagster run") and run_id in failed
    assert mlflow_run.info.run_id in killed
    status = render_status(settings)
    assert "interrupted" in status and run_id in status


def test_an_interrupted_run_not_yet_cleaned_up_shows_in_status(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nfrom skillpath.lock import run_lock\nfrom skillpath.settings import "
            "Settings\nwith run_lock(Settings.from_env(), 'skillpath run', 0):\n"
            "    print('held', flush=True)\n    time.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    assert "busy: 'skillpath run'" in render_status(settings)
    holder.kill()
    holder.wait()
    status = render_status(settings)
    assert "interrupted" in status and "cleaned up by the next command" in status


def test_dbt_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    """Table row 11: kill -9 during dbt left `dbt build` running as an orphan, writing
    and holding DuckDB's lock."""
    parent = textwrap.dedent(
        f"""
        import os, subprocess, sys, time
        env = {{**os.environ, {PARENT_ENV!r}: str(os.getpid()), {TARGET_ENV!r}: "/bin/sleep"}}
        child = subprocess.Popen(
            [{str(Path(sys.executable).parent / "skillpath-dbt")!r}, "300"], env=env
        )
        print(child.pid, flush=True)
        time.sleep(300)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(process.stdout.readline()))
    deadline = time.monotonic() + 10
    while child.name() != "sleep" and time.monotonic() < deadline:  # exec'd into "dbt"
        time.sleep(0.05)
    assert child.name() == "sleep"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    child.wait(timeout=10)  # raises if the "dbt" child outlives its parent
    assert not child.is_running()
