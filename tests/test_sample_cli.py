"""`skillpath sample` from the command line, with explicit and with default locations."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillpath.cli import main
from skillpath.sample import SampleConfig


def test_sample_command_writes_landing_and_truth(tmp_path: Path, capsys, skillpath_env) -> None:
    code = main(
        [
            "sample",
            "--employees",
            "50",
            "--months",
            "2",
            "--seed",
            "3",
            "--inject-defects",
            "--landing-dir",
            str(tmp_path / "in"),
            "--truth-dir",
            str(tmp_path / "truth"),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "50 employees" in out and str(tmp_path / "in") in out and str(tmp_path / "truth") in out
    assert "defects injected" in out and len(out.splitlines()) <= 6
    log = Path(out.splitlines()[0].removeprefix("log: ")).read_text()
    assert "hr/employees.csv" in log and "lms/statements/ (" in log
    assert (tmp_path / "in" / "hr" / "employees.csv").exists()
    assert len(list((tmp_path / "in" / "lms" / "statements").glob("lrs-export-*.jsonl"))) == 2
    assert (tmp_path / "truth" / "truth.json").exists()


def test_sample_command_uses_the_configured_directories(skillpath_env: Path) -> None:
    assert main(["sample", "--employees", "30", "--months", "1"]) == 0
    assert (skillpath_env / "landing" / "lms" / "catalog.csv").exists()
    assert (skillpath_env / "truth" / "persons.parquet").exists()


def test_rerun_with_fewer_months_leaves_no_stale_exports(tmp_path: Path, skillpath_env) -> None:
    args = [
        "sample",
        "--employees",
        "30",
        "--landing-dir",
        str(tmp_path / "in"),
        "--truth-dir",
        str(tmp_path / "truth"),
    ]
    main([*args, "--months", "3"])
    main([*args, "--months", "1"])
    assert len(list((tmp_path / "in" / "lms" / "statements").glob("lrs-export-*.jsonl"))) == 1


@pytest.mark.parametrize(("field", "value"), [("employees", 5), ("months", 0), ("seed", -1)])
def test_bad_options_are_explained(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"--{field}"):
        SampleConfig(**{field: value})


def test_window_ends_on_a_fixed_date_and_spans_the_months() -> None:
    config = SampleConfig(months=12)
    starts = config.month_starts()
    assert str(config.start_date) == "2025-11-01" and str(starts[-1]) == "2026-11-01"
    assert len(starts) == 13


def test_inject_bias_takes_attributes_and_a_strength(tmp_path: Path, capsys) -> None:
    common = ["sample", "--employees", "30", "--months", "1", "--landing-dir"]
    assert (
        main([*common, str(tmp_path / "a"), "--truth-dir", str(tmp_path / "ta"), "--inject-bias"])
        == 0
    )
    assert "bias injected (gender, strength 0.7)" in capsys.readouterr().out
    args = ["--inject-bias", "age,disability", "--bias-strength", "0.2"]
    assert main([*common, str(tmp_path / "b"), "--truth-dir", str(tmp_path / "tb"), *args]) == 0
    assert "bias injected (age, disability, strength 0.2)" in capsys.readouterr().out
