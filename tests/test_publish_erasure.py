"""skillpath erase removes a person everywhere and records it."""

from __future__ import annotations

import json
from pathlib import Path

from skillpath.publish.erasure import erase
from skillpath.publish.publication import Candidate, publish
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.ml.holdout import passing_evaluation
from tests.fixtures.publish.warehouse import candidate_frame, keys, seed_ingestion


def _count_everywhere(con, key: str) -> dict[str, int]:
    tables = con.execute(
        """select table_schema || '.' || table_name from information_schema.columns
           where column_name = 'person_key'"""
    ).fetchall()
    return {
        t: con.execute(f"select count(*) from {t} where person_key = ?", [key]).fetchone()[0]
        for (t,) in tables
    }


def test_erase_removes_the_person_everywhere(skillpath_env: Path, capsys) -> None:
    settings = Settings.from_env()
    seed_ingestion(settings)
    publish(
        settings,
        Candidate(candidate_frame(settings), "1", model_evaluation=passing_evaluation()),
        promote=lambda uri, v: "stub",
    )
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
        con.execute(
            "insert into audit.quarantine (source, payload, reason_code) values "
            "('hr', ?, 'bad'), ('hr', '{\"employee_id\": \"T-0021\"}', 'bad')",
            [json.dumps({"employee_id": "T-002", "department": "x"})],
        )
        before = _count_everywhere(con, gone)
    assert before["published.current_recommendations"] == 2
    assert before["published.employee_directory"] == 1

    assert erase(settings, "T-002") == 0
    out = capsys.readouterr().out
    assert "published.current_recommendations" in out and "audit.quarantine" in out

    with connect(settings.warehouse, read_only=True) as con:
        assert sum(_count_everywhere(con, gone).values()) == 0
        assert _count_everywhere(con, kept)["published.current_recommendations"] == 2
        assert con.execute(
            "select manager_key from raw.hr_employees where person_key = ?", [kept]
        ).fetchone() == (None,)
        # a different employee whose id merely starts the same is untouched
        assert con.execute("select count(*) from audit.quarantine").fetchone()[0] == 1
        erased_key, rows, _ = con.execute("select * from audit.erasures").fetchone()
    assert erased_key == gone
    assert json.loads(rows)["published.employee_directory"] == 1
    assert "T-002" not in rows


def test_an_id_with_no_data_is_refused_and_nothing_is_recorded(skillpath_env: Path, capsys) -> None:
    settings = Settings.from_env()
    seed_ingestion(settings)
    assert erase(settings, "NOBODY") == 1
    assert "no data held for this employee id" in capsys.readouterr().err
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from published.employee_directory").fetchone() == (3,)
        assert con.execute("select count(*) from audit.erasures").fetchone() == (0,)


def test_erasing_twice_says_already_erased(skillpath_env: Path, capsys) -> None:
    settings = Settings.from_env()
    seed_ingestion(settings)
    assert erase(settings, "T-001") == 0
    capsys.readouterr()
    assert erase(settings, "T-001") == 0
    assert "already erased" in capsys.readouterr().out
    with connect(settings.warehouse, read_only=True) as con:
        assert con.execute("select count(*) from audit.erasures").fetchone() == (1,)
