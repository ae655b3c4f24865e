"""The run-level lock (skillpath.lock): a second writing command waits or refuses with
exit code 75 and one message, never two failures; a killed holder's lock is cleared
and noticed. Holders run in subprocesses, as other commands would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from orchestration.resources import SkillpathResource
from orchestration.sensors import landing_sensor
from skillpath.cli import main
from skillpath.lock import EX_TEMPFAIL, LockBusy, current_holder, read_holder, run_lock
from skillpath.settings import Settings

HOLD = textwrap.dedent(
    """
    import sys, time
    from skillpath.lock import run_lock
    from skillpath.settings import Settings
    with run_lock(Settings.from_env(), sys.argv[1], wait_seconds=0):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def hold(command: str, seconds: float) -> subprocess.Popen:
    """A process holding the lock for ``seconds`` (it says 'held' once it does)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, command, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    return Settings.from_env()


def test_a_second_command_refuses_with_75_and_one_message(settings, capsys, monkeypatch) -> None:
    holder = hold("skillpath run", 60)
    try:
        assert current_holder(settings.warehouse).pid == holder.pid
        assert main(["ingest"]) == EX_TEMPFAIL == 75
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "busy" in err[0] and "'skillpath run'" in err[0]
        assert f"pid {holder.pid}" in err[0] and "Traceback" not in err[0]
        monkeypatch.setenv("SKILLPATH_ERASE_LOCK_WAIT_SECONDS", "0")  # erase waits by default
        assert main(["erase", "--employee-id", "E1"]) == 75
    finally:
        holder.kill()
        holder.wait()


def test_a_command_waits_when_told_to_and_says_so(settings) -> None:
    holder = hold("skillpath ingest", 1.5)
    told: list[str] = []
    start = time.monotonic()
    with run_lock(settings, "erase", wait_seconds=30, notify=told.append) as session:
        assert session.holder.pid == os.getpid()
        assert holder.poll() is not None  # it finished first
    assert 1.0 < time.monotonic() - start < 20
    assert len(told) == 1 and "waiting up to 30 s" in told[0] and "skillpath ingest" in told[0]
    assert read_holder(settings.warehouse).released_at is not None


def test_waiting_ends_in_lock_busy(settings) -> None:
    holder = hold("skillpath tune", 60)
    try:
        with pytest.raises(LockBusy) as busy, run_lock(settings, "run", wait_seconds=0.5):
            pass
        assert busy.value.exit_code == 75 and "after waiting" not in str(busy.value)
        assert busy.value.holder.command == "skillpath tune"
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_no_stale_lock_and_is_noticed(settings) -> None:
    holder = hold("skillpath run", 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert read_holder(settings.warehouse).released_at is None  # what it left behind
    assert current_holder(settings.warehouse) is None  # but nobody holds it
    with run_lock(settings, "ingest", wait_seconds=0) as session:
        assert session.interrupted is not None and session.interrupted.pid == holder.pid
    with run_lock(settings, "ingest", wait_seconds=0) as session:
        assert session.interrupted is None  # a released lock is no interruption


def test_the_lock_is_reentrant_within_a_process(settings) -> None:
    with run_lock(settings, "run") as outer, run_lock(settings, "dagster run x") as inner:
        assert inner is outer
        inner.note_dagster_run("x")
        assert read_holder(settings.warehouse).dagster_runs == ("x",)
    assert current_holder(settings.warehouse) is None


def test_two_runs_at_once_one_runs_one_is_told(settings) -> None:
    """Table row 10: two `skillpath run` at once both exited 1 on DuckDB's lock, one with
    a raw traceback. The second real `skillpath run` process now exits 75 at once with
    one line naming the first (a process holding the lock as a run does)."""
    first = hold("skillpath run", 60)
    try:
        command = [str(Path(sys.executable).parent / "skillpath"), "run"]
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert second.returncode == 75
        [message] = second.stderr.strip().splitlines()
        assert "busy" in message and f"pid {first.pid}" in message
        assert first.poll() is None  # the first one is untouched
    finally:
        first.kill()
        first.wait()


@dg.asset
def writes(skillpath: SkillpathResource) -> None:
    """Stands for any asset that writes the warehouse."""


def test_a_dagster_run_waits_then_fails_naming_the_holder(skillpath_env: Path, tmp_path) -> None:
    """Runs from the UI, a schedule or a sensor take the lock through SkillpathResource;
    the landing sensor does not start one while the warehouse is busy."""
    config = tmp_path / "ops.toml"
    config.write_text("[operations]\ndagster_lock_wait_seconds = 1\n")
    resource = SkillpathResource(config_file=str(config))

    holder = hold("skillpath run", 60)
    try:
        result = dg.materialize([writes], resources={"skillpath": resource}, raise_on_error=False)
        assert not result.success
        text = str(result.all_events)
        assert "busy" in text and "'skillpath run'" in text
        landing = Settings.from_env().landing_dir
        landing.mkdir(parents=True, exist_ok=True)
        (landing / "new.csv").write_text("x\n")
        with dg.build_sensor_context(resources={"skillpath": resource}) as context:
            skipped = landing_sensor(context)
        assert isinstance(skipped, dg.SkipReason) and "holds the warehouse" in skipped.skip_message
    finally:
        holder.kill()
        holder.wait()
    result = dg.materialize([writes], resources={"skillpath": resource})
    assert result.success and current_holder(Settings.from_env().warehouse) is None
