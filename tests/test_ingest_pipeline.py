"""Statement files overlap: the next is staged (read and checked) while the previous
loads, yet they load one at a time in landing order, so the tables are as if serial."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from skillpath.ingest import ingest_all, xapi
from tests.fixtures.ingest.kit import landing, query


def test_the_next_file_is_staged_while_one_loads_and_loads_follow_landing_order(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = landing(skillpath_env)
    stage, load = xapi.stage_statement_file, xapi.load_statement_file
    staged_files: list[str] = []
    loaded_files: list[str] = []
    second_staging = threading.Event()
    overlapped: list[bool] = []

    def spy_stage(con, file, *context):
        staged_files.append(file.relative)
        if len(staged_files) == 2:
            second_staging.set()
        return stage(con, file, *context)

    def spy_load(con, file, staged, result, loaded_at):
        if not loaded_files:  # the first file waits for the second one's staging
            overlapped.append(second_staging.wait(timeout=30))
        loaded_files.append(file.relative)
        return load(con, file, staged, result, loaded_at)

    monkeypatch.setattr(xapi, "stage_statement_file", spy_stage)
    monkeypatch.setattr(xapi, "load_statement_file", spy_load)
    [result] = [r for r in ingest_all(settings) if r.table == "lms_statements"]
    assert overlapped == [True]
    assert loaded_files == staged_files == sorted(loaded_files)
    assert [f.file for f in result.files] == loaded_files
    assert all(f.balanced for f in result.files)
    logged = query(
        settings,
        "select file from audit.ingest_log where source = 'lms_statements' order by finished_at",
    )
    assert [f for (f,) in logged] == loaded_files
