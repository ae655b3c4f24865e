"""The command line as a user meets it: help texts, exit codes, one-line errors, and
the split between what the terminal shows and what only the log file holds.

The quiet output of a whole run is asserted in test_end_to_end.py (it needs a run)."""

from __future__ import annotations

import io
import logging
import re
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from orchestration.runner import outcome
from skillpath import cli
from skillpath.console import LogSink, Terminal, captured, logging_to
from skillpath.exit_codes import ExitCode
from skillpath.lock import LockBusy
from skillpath.publish.commands import export_format
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.publish.warehouse import seed_ingestion

COMMANDS = ("sample", "ingest", "run", "status", "export", "erase", "tune", "prepare", "mlflow-ui")


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_top_level_help_lists_every_command_and_exit_code() -> None:
    code, out, _ = _main("--help")
    assert code == 0
    commands = out[out.index("Commands:") :]
    assert all(f"  {name} " in commands for name in COMMANDS)
    for exit_code in ExitCode:
        assert f"  {int(exit_code)}  " in out, f"exit code {int(exit_code)} is not explained"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_examples_and_exit_codes(command: str) -> None:
    code, out, _ = _main(command, "--help")
    assert code == 0
    assert f"Usage: skillpath {command}" in out
    assert "Examples:" in out and f"skillpath {command}" in out.split("Examples:")[1]
    assert "Exit codes:" in out
    options = out.split("Options:")[1].split("Exit codes:")[0]
    rows = [line.strip() for line in options.splitlines() if line.startswith("  -")]
    helps = [[*re.split(r"\s{2,}", row, maxsplit=1), ""][1] for row in rows]
    assert rows and all(h and not h.startswith("[") for h in helps), "an option lacks help"


def test_run_help_documents_the_pipeline_outcomes() -> None:
    _, out, _ = _main("run", "--help")
    codes = out.split("Exit codes:")[1]
    assert "0  the publication went live" in codes
    assert "2  a gate blocked the publication" in codes
    assert "1  a step failed" in codes
    assert "75  another command holds the warehouse" in codes


@pytest.mark.parametrize(
    "argv",
    [
        ("run", "--no-such-option"),
        ("sample", "--employees", "3"),
        ("tune", "--trials", "0"),
        ("export",),
        ("erase",),
    ],
)
def test_a_wrong_option_exits_64_with_one_line(argv: tuple[str, ...], skillpath_env) -> None:
    code, out, err = _main(*argv)
    assert code == ExitCode.USAGE
    assert out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("skillpath: error:") and "--help" in err


def test_an_unknown_export_extension_is_refused(skillpath_env: Path) -> None:
    out_file = skillpath_env / "recs.xlsx"
    code, _, err = _main("export", "--out", str(out_file))
    assert code == ExitCode.USAGE
    assert "'.xlsx'" in err and ".csv or .parquet" in err
    assert not out_file.exists()
    assert export_format(Path("a.CSV")) == "CSV" and export_format(Path("a.parquet")) == "Parquet"
    for name in ("a.xlsx", "a", "a.csv.gz"):
        with pytest.raises(ValueError, match="unknown export format"):
            export_format(Path(name))


def test_erase_of_an_unknown_id_exits_1_and_records_nothing(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    seed_ingestion(settings)
    code, _, err = _main("erase", "--employee-id", "E999999")
    assert code == ExitCode.FAILED
    assert "no data held for 1 id(s): nothing erased, nothing recorded" in err
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.erasures").fetchone() == (0,)
    assert _main("erase", "--employee-id", "T-002")[0] == ExitCode.OK


@pytest.mark.parametrize(
    ("command", "target"),
    [
        (("erase", "--employee-id", "T-001"), "skillpath.gdpr.erasure.erase"),
        (("run",), "orchestration.runner.run_pipeline"),
    ],
)
def test_a_busy_warehouse_exits_75(
    command: tuple[str, ...], target: str, skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (skillpath_env / "landing").mkdir(parents=True)

    busy = LockBusy(skillpath_env / "warehouse.duckdb.lock", None, 0)

    def raise_busy(*_args, **_kwargs):
        raise busy

    monkeypatch.setattr(target, raise_busy)
    code, _, err = _main(*command)
    assert code == ExitCode.BUSY
    assert err.strip() == f"skillpath: error: busy: {busy}"


@pytest.mark.parametrize("command", ["run", "ingest"])
def test_a_missing_landing_directory_is_named_in_one_line(
    command: str, skillpath_env: Path
) -> None:
    code, out, err = _main(command)
    assert code == ExitCode.FAILED
    landing = skillpath_env / "landing"
    assert err.count("\n") == 1 and f"landing directory {landing} does not exist" in err
    assert "SKILLPATH_LANDING_DIR" in err
    assert out.startswith("log: ") and len(out.splitlines()) == 1


def test_an_unexpected_error_is_one_line_and_its_traceback_is_in_the_log(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("skillpath.gdpr.erasure.erase", broken)
    code, out, err = _main("erase", "--employee-id", "T-001")
    assert code == ExitCode.FAILED
    assert len(err.strip().splitlines()) == 1 and "RuntimeError: disk on fire" in err
    log_file = Path(out.split("log: ", 1)[1].split()[0])
    assert "Traceback" in log_file.read_text() and str(log_file) in err


def test_a_blocked_publication_is_not_a_crash_but_another_failure_is() -> None:
    blocked_step = ["publication"]
    assert outcome(blocked_step, "blocked") == (ExitCode.BLOCKED, [])
    assert outcome([], "published") == (ExitCode.OK, [])
    assert outcome(blocked_step, "failed") == (ExitCode.FAILED, ["publication"])
    assert outcome(["model_evaluation", "publication"], "blocked") == (
        ExitCode.FAILED,
        ["model_evaluation"],
    )


@pytest.fixture
def _restore_logging():
    names = ["", "dagster", "mlflow.pyfunc", "skillpath", "ml", "orchestration"]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("_restore_logging")
@pytest.mark.parametrize("verbose", [False, True])
def test_the_terminal_shows_our_warnings_the_log_everything(tmp_path: Path, verbose: bool) -> None:
    screen, echo = io.StringIO(), io.StringIO()
    sink = LogSink(tmp_path / "x.log", echo=echo if verbose else None)
    # as during a run: MLflow's logger, once MLflow is imported, writes to the stderr of
    # the moment, which captured() points at the log
    with logging_to(sink, Terminal(screen, verbose), verbose), captured(sink):
        logging.getLogger("skillpath.ingest.runner").info("hr/employees.csv: all rows loaded")
        logging.getLogger("skillpath.ingest.runner").debug("reading hr/employees.csv")
        logging.getLogger("skillpath.ingest.runner").warning("hr/roles.csv: 3 rows quarantined")
        logging.getLogger("mlflow.pyfunc").warning("Failed to infer model signature")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("a library's deprecation", FutureWarning, stacklevel=1)
    sink.close()
    log = (tmp_path / "x.log").read_text()
    for text in ("all rows loaded", "3 rows quarantined", "infer model signature", "deprecation"):
        assert text in log
    assert ("reading hr/employees.csv" in log) == verbose
    if verbose:
        assert echo.getvalue() == log and screen.getvalue() == ""
    else:
        assert screen.getvalue() == "  warning: hr/roles.csv: 3 rows quarantined\n"


def test_the_log_has_no_colour_codes(tmp_path: Path) -> None:
    sink = LogSink(tmp_path / "x.log")
    with captured(sink):
        print("1 of 2 OK created sql view model staging.x ... [\x1b[32mOK\x1b[0m in 0.39s]")
    sink.close()
    assert (tmp_path / "x.log").read_text() == (
        "1 of 2 OK created sql view model staging.x ... [OK in 0.39s]\n"
    )


def test_a_missing_required_export_is_named_in_one_line(skillpath_env: Path) -> None:
    """A real ingestion of an empty landing directory: the blocking check names the
    missing file in one line, with no Dagster trace on the terminal."""
    (skillpath_env / "landing").mkdir(parents=True)
    code, out, err = _main("ingest")
    assert code == ExitCode.FAILED
    missing = [line for line in out.splitlines() if "hr/employees.csv is missing" in line]
    assert len(missing) == 1 and missing[0].startswith("  error: check raw/hr_employees")
    assert "Traceback" not in out + err and "Stack Trace" not in out + err
    assert "Dependencies for step" not in out
    assert re.search(r"^\[2/2\] ingest landing files … blocked by a check after ", out, re.M)
    assert len(out.splitlines()) <= 30


def test_the_summary_lists_ingestion_briefly_only_when_every_row_was_loaded() -> None:
    from skillpath.ingest.report import SourceSummary
    from skillpath.summary import _ingestion

    def source(table: str, rows: int, quarantined: int = 0, files: int = 1) -> SourceSummary:
        required = table != "survey_pulse"
        share = quarantined / rows if rows else 0.0
        return SourceSummary(
            table, required, files, 0, 0, rows, rows - quarantined, quarantined, 0, 0, share
        )

    clean = [source("hr_employees", 1000), source("lms_statements", 73894, files=13)]
    brief = _ingestion([*clean, source("survey_pulse", 0, files=0)])
    assert brief[0] == "ingestion (rows): hr_employees 1,000 · lms_statements 73,894"
    assert "14 files; all 74,894 rows loaded" in brief[1]
    assert brief[2] == "  optional, not provided: survey_pulse"
    assert _ingestion([source("hr_employees", 0, files=0), clean[1]])[0].startswith(
        "ingestion (files, rows in"
    ), "a required source missing shows the table"
    table = _ingestion([clean[0], source("lms_statements", 73894, quarantined=5, files=13)])
    assert table[0].startswith(
        "ingestion (files, rows in = loaded + quarantined + duplicate + erased)"
    )
    assert any("73,889" in line and "5" in line for line in table[1:])
