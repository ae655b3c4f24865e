"""skillpath erase: a person leaves every table and file, the record names nobody, and
nothing is ever half done."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from skillpath.gdpr import erasure
from skillpath.gdpr.tables import ensure_gdpr_tables
from skillpath.privacy import person_key, person_token
from skillpath.publish.commands import export
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect
from tests.fixtures.privacy.traces import file_traces, sql_traces
from tests.fixtures.publish.warehouse import keys, seed_and_publish


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    """Three persons ingested and published; T-002 manages T-001, sits in a mart, in the
    restricted schema, in two quarantined rows and in a validation result's sample."""
    settings = Settings.from_env()
    seed_and_publish(settings)
    gone, kept = keys(settings)["T-002"], keys(settings)["T-001"]
    with connect(settings.warehouse) as con:
        for key, manager in ((gone, None), (kept, gone)):
            con.execute(
                "insert into raw.hr_employees (person_key, manager_key) values (?, ?)",
                [key, manager],
            )
        con.execute("create table marts.mart_skill_profile (person_key varchar, skill_id varchar)")
        con.execute(
            "insert into marts.mart_skill_profile values (?, 'S1'), (?, 'S1')", [gone, kept]
        )
        con.execute("create schema if not exists restricted")
        con.execute("create table restricted.attributes (person_key varchar, gender varchar)")
        con.execute("insert into restricted.attributes values (?, 'x'), (?, 'y')", [gone, kept])
        con.execute(
            "insert into audit.quarantine (source, payload, reason_code) values "
            "('hr', ?, 'bad'), ('hr', ?, 'bad'), ('hr', '{\"employee_id\": \"T-0021\"}', 'bad')",
            [json.dumps({"employee_id": "T-002"}), json.dumps({"person_key": gone})],
        )
        con.execute(
            "insert into audit.validation_results values ('r2', 'hr_employees', 'in_set', "
            "'person_key', false, ?, now()::timestamp)",
            [json.dumps({"partial_unexpected_list": [gone, "other"]})],
        )
    return settings


def _everything(settings: Settings, needles: list[str]) -> list[str]:
    with connect(settings.warehouse, read_only=True) as con:
        return sql_traces(con, needles)


def test_erase_removes_the_person_everywhere(settings: Settings, capsys) -> None:
    gone, kept = keys(settings)["T-002"], keys(settings)["T-001"]
    before = _everything(settings, [gone, '"T-002"'])
    assert {"raw.hr_employees.manager_key", "restricted.attributes.person_key"} <= set(before)
    assert "audit.validation_results.observed" in before

    assert erasure.erase(settings, ["T-002"]) == 0
    out = capsys.readouterr().out
    assert "erased 1 person(s)" in out and "T-002" not in out and gone not in out

    assert _everything(settings, [gone, '"T-002"']) == []
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute(
            "select count(*) from published.current_recommendations where person_key = ?", [kept]
        ).fetchall() == [(2,)]
        # a different employee whose id merely starts the same keeps their quarantined row
        assert con.execute("select count(*) from audit.quarantine").fetchall() == [(1,)]
        [record] = con.execute("select * from audit.erasures").df().to_dict("records")
        [(token,)] = con.execute("select token from audit.erasure_suppression").fetchall()
    assert record["persons_erased"] == 1 and record["completed_at"] is not None
    assert json.loads(record["rows_deleted"])["published.employee_directory"] == 1
    assert not any(v in str(record) for v in (gone, "T-002"))
    assert token == person_token(gone, pseudonym_key(settings)) != gone


def test_the_deleted_rows_leave_the_database_file(settings: Settings) -> None:
    gone = keys(settings)["T-002"].encode()
    inode = os.stat(settings.warehouse).st_ino
    assert gone in settings.warehouse.read_bytes()  # stored as is: the scan can see it
    assert erasure.erase(settings, ["T-002"]) == 0
    assert os.stat(settings.warehouse).st_ino != inode  # a fresh file replaced it
    assert gone not in settings.warehouse.read_bytes()
    assert not Path(f"{settings.warehouse}.wal").exists()


def test_erasing_again_says_already_erased_and_records_nothing(settings, capsys) -> None:
    assert erasure.erase(settings, ["T-002"]) == 0
    capsys.readouterr()
    assert erasure.erase(settings, ["T-002"]) == 0
    assert "already erased" in capsys.readouterr().out
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.erasures").fetchall() == [(1,)]


def test_an_id_without_data_is_refused_unless_suppress_only(settings, capsys) -> None:
    assert erasure.erase(settings, ["NOBODY-9"]) == 1
    err = capsys.readouterr().err
    assert "no data held" in err and "NOBODY-9" not in err
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.erasures").fetchall() == [(0,)]
        assert con.execute("select count(*) from audit.erasure_suppression").fetchall() == [(0,)]

    assert erasure.erase(settings, ["NOBODY-9"], suppress_only=True) == 0
    key = pseudonym_key(settings)
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select kind, persons_suppressed from audit.erasures").fetchall() == [
            ("suppression", 1)
        ]
        tokens = {
            r[0] for r in con.execute("select token from audit.erasure_suppression").fetchall()
        }
    assert person_token(person_key("NOBODY-9", key), key) in tokens


def test_a_file_of_ids_names_lines_not_ids(settings: Settings, tmp_path: Path, capsys) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("employee_id\nT-001\nT-00X\nT-003\n")
    assert erasure.erase(settings, erasure.read_id_file(ids), source=ids) == 1
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "erased 2 person(s)" in text and "line(s) 2 of ids.csv" in text
    assert not any(i in text for i in ("T-001", "T-00X", "T-003"))
    assert _everything(settings, list(keys(settings).values())[::2]) == []
    assert erasure.read_id_file(ids) == ["T-001", "T-00X", "T-003"]


def test_a_failure_leaves_nothing_half_erased(settings: Settings, monkeypatch) -> None:
    gone = keys(settings)["T-002"]
    before = _everything(settings, [gone])

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure, "_mask", broken)
    with pytest.raises(RuntimeError):
        erasure.erase(settings, ["T-002"])
    assert _everything(settings, [gone]) == before
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.erasures").fetchall() == [(0,)]
        assert con.execute("select count(*) from audit.erasure_suppression").fetchall() == [(0,)]


def test_an_interrupted_clean_up_is_finished_next_time(settings: Settings, monkeypatch) -> None:
    gone = keys(settings)["T-002"]

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(erasure, "compact_duckdb", killed)
    with pytest.raises(KeyboardInterrupt):
        erasure.erase(settings, ["T-002"])
    assert _everything(settings, [gone]) == []  # the warehouse part is committed
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select completed_at from audit.erasures").fetchall() == [(None,)]
    monkeypatch.undo()
    assert "warehouse_bytes" in erasure.finish_pending(settings)
    with connect(settings.warehouse, read_only=True) as con:
        [(done,)] = con.execute("select completed_at from audit.erasures").fetchall()
    assert done is not None
    assert erasure.finish_pending(settings) == {}  # nothing left to do


def test_exports_under_the_data_directory_lose_the_person(settings: Settings, tmp_path) -> None:
    inside = [settings.data_dir / "exports" / f"recs.{s}" for s in ("csv", "parquet")]
    outside = tmp_path / "delivered.csv"
    for path in (*inside, outside):
        assert export(settings, path) == 0
    assert erasure.erase(settings, ["T-002"]) == 0
    assert file_traces(settings.data_dir / "exports", ["T-002"]) == []
    assert set(pd.read_csv(inside[0])["employee_id"]) == {"T-001", "T-003"}
    assert set(pd.read_parquet(inside[1])["employee_id"]) == {"T-001", "T-003"}
    assert b"T-002" in outside.read_bytes()  # the recipients' to erase (docs/privacy.md)


def test_a_record_that_named_the_person_becomes_a_token(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    key = pseudonym_key(settings)
    with connect(settings.warehouse) as con:
        con.execute("create schema audit")
        con.execute(
            "create table audit.erasures (erased_person_key varchar, rows_deleted varchar, "
            "erased_at timestamp)"
        )
        con.execute("insert into audit.erasures values ('k1', '{\"raw.t\": 3}', now())")
        ensure_gdpr_tables(con, key)
        assert con.execute("select token from audit.erasure_suppression").fetchall() == [
            (person_token("k1", key),)
        ]
        rows = con.execute("select persons_erased, rows_deleted, completed_at from audit.erasures")
        assert rows.fetchall() == [(1, '{"raw.t": 3}', None)]
        assert "k1" not in str(con.execute("select * from audit.erasures").fetchall())
