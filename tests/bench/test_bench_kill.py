"""kill -9 at eight points of `skillpath run`, then a rerun (docs/operations.md,
"Recovery after a crash").

One organisation, one run after the other: the first is killed during a statements
file, each next one at the next point (between ingestion and dbt, during dbt, during the
dataset, training, scoring, the publication write, the report). After every kill: no
process of the run is left (dbt included), and once a command takes the lock again
(here the check itself, through ``orchestration.recovery.locked``) the run's Dagster run
is failed, its MLflow runs are not RUNNING, and the current publication is whole. A last
run completes; its exit code is 0 or 2 (published or blocked), never 1 or 75.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import psutil
import pytest
from mlflow.tracking import MlflowClient

from orchestration.instance import dagster_instance
from orchestration.recovery import locked
from skillpath.settings import Settings
from tests.bench.report import record

SKILLPATH = str(Path(sys.executable).parent / "skillpath")
TIMEOUT = 900


class Run:
    """`skillpath -v run` in the background, its log lines readable as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [SKILLPATH, "-v", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.put(line)

    def wait_for(self, pattern: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise AssertionError(f"the run ended before {pattern!r}") from None
                continue
            if re.search(pattern, line):
                return
        raise AssertionError(f"no {pattern!r} within {TIMEOUT} s")

    def kill(self) -> list[psutil.Process]:
        """SIGKILL the run (not its children: they must die with it on their own)."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        return children


def _step(name: str) -> str:
    return rf" - {name} - STEP_START - "


@dataclass(frozen=True)
class Point:
    name: str
    pattern: str  # the log line it comes after
    delay: float = 0.0  # seconds after it
    wait_for_dbt: bool = False
    wait_for_report: bool = False


POINTS = (
    Point("during a statements file", r"lms/statements/.*: (all \d+ rows loaded|\d+ of)"),
    Point("between ingestion and dbt", _step("skillpath_dbt_models")),
    Point("during dbt", r"Running dbt command: `.*skillpath-dbt build", wait_for_dbt=True),
    Point("during the dataset", _step("training_dataset")),
    Point("during training", _step("model_evaluation"), delay=1.0),
    Point("during scoring", _step("candidate_recommendations")),
    Point("during the publication write", _step("publication"), delay=0.3),
    Point("during the report", _step("publication"), wait_for_report=True),
)


def _wait_for_dbt(run: Run) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = psutil.Process(run.process.pid).children(recursive=True)
        if any("dbt" in " ".join(c.cmdline()) for c in children):
            time.sleep(2)  # dbt is building models now
            return
        time.sleep(0.1)
    raise AssertionError("dbt never started")


def _wait_for_report(reports: Path, before: set[str]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        new = {p.name for p in reports.glob("pub-*")} - before
        if new:
            return
        time.sleep(0.02)
    raise AssertionError("no report written")


def _consistent(settings: Settings) -> dict[str, object]:
    """After cleanup: the run's traces closed, the current publication whole."""
    instance = dagster_instance(settings)
    running = instance.get_runs(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    client = MlflowClient(settings.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name("skillpath")
    mlflow_running = (
        client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
        if experiment
        else []
    )
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        current = None
        if "current_recommendations" in tables:
            current = con.execute(
                """select count(*) = (select count(*) from published.recommendations r
                                      join published.publications p using (publication_id)
                                      where p.status = 'published' and p.publication_id =
                                          (select max(publication_id) from published.publications
                                           where status = 'published')),
                          count(distinct publication_id) <= 1
                   from published.current_recommendations"""
            ).fetchone()
        statuses = (
            dict(
                con.execute(
                    "select status, count(*) from published.publications group by 1"
                ).fetchall()
            )
            if "publications" in tables
            else {}
        )
        unbalanced = con.execute(
            "select count(*) from audit.ingest_log "
            "where rows_in <> rows_loaded + rows_quarantined + rows_duplicate "
            "+ coalesce(rows_erased, 0)"
        ).fetchone()[0]
        interrupted = (
            con.execute("select count(*) from audit.interrupted_runs").fetchone()[0]
            if "interrupted_runs" in tables
            else 0
        )
    return {
        "dagster_running": len(running),
        "mlflow_running": len(mlflow_running),
        "current_whole": current is None or all(current),
        "publication_statuses": statuses,
        "unbalanced_files": unbalanced,
        "interrupted_recorded": interrupted,
    }


@pytest.mark.slow
def test_bench_kill_matrix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {
        **os.environ,
        "SKILLPATH_DATA_DIR": str(data),
        "SKILLPATH_PSEUDONYM_KEY": "bench-key-not-secret",
        "DAGSTER_HOME": str(data / "dagster"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{data / 'mlflow.db'}",
    }
    for key in ("SKILLPATH_LANDING_DIR", "SKILLPATH_WAREHOUSE", "SKILLPATH_REPORTS_DIR"):
        env.pop(key, None)
    subprocess.run(
        [SKILLPATH, "sample", "--employees", "150", "--months", "4"],
        env=env,
        check=True,
        capture_output=True,
    )
    settings = Settings.from_mapping(env)
    rows = []
    for point in POINTS:
        started = time.perf_counter()
        before = {p.name for p in settings.reports_dir.glob("pub-*")}
        run = Run(env)
        run.wait_for(point.pattern)
        if point.wait_for_dbt:
            _wait_for_dbt(run)
        if point.wait_for_report:
            _wait_for_report(settings.reports_dir, before)
        time.sleep(point.delay)
        children = run.kill()
        _, alive = psutil.wait_procs(children, timeout=15)
        with locked(settings, "kill bench check", wait_seconds=0):
            pass  # cleans up after the killed run, as any next command would
        state = _consistent(settings)
        rows.append((point.name, time.perf_counter() - started, len(children), len(alive), state))
        assert not alive, f"{point.name}: {alive} outlived the run"
        assert state["dagster_running"] == state["mlflow_running"] == 0, (point.name, state)
        assert state["current_whole"] and state["unbalanced_files"] == 0, (point.name, state)
    final = subprocess.run([SKILLPATH, "run"], env=env, capture_output=True, text=True)
    state = _consistent(settings)
    lines = "\n".join(
        f"| {name} | {seconds:.0f} | {children} | {alive} | {s['interrupted_recorded']} | "
        f"{'yes' if s['current_whole'] else 'NO'} | "
        f"{s['dagster_running']} / {s['mlflow_running']} |"
        for name, seconds, children, alive, s in rows
    )
    header = (
        "| killed | s into the run | child processes | left alive | interruptions recorded "
        "| current publication whole | Dagster / MLflow runs left running |"
    )
    record(
        "Kill matrix (kill -9 during skillpath run)",
        f"""
`skillpath sample --employees 150 --months 4`, then `skillpath run` killed with SIGKILL at
each point in turn; after each kill the next command takes the lock and cleans up.

{header}
|---|---:|---:|---:|---:|---|---|
{lines}

The rerun after the last kill: exit code {final.returncode}; publications by status
{state["publication_statuses"]}; files with rows unaccounted for: {state["unbalanced_files"]}.
""",
    )
    assert final.returncode in (0, 2), final.stderr[-2000:]
    assert state["dagster_running"] == state["mlflow_running"] == 0
    assert state["interrupted_recorded"] == len(POINTS)
