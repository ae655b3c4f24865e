"""fct_learning_events is incremental: a second Dagster run adds the statements loaded
since, removes statements voided since, and does not rebuild history."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.runner import failed_checks
from tests.fixtures.marts.build import (
    load_tiny_org,
    marts_environment,
    materialize_marts,
)

NEXT_DAY = """
-- a new launch, and a late voiding of pk_learner's completion (s03), loaded a day later
insert into raw.lms_statements
    (statement_id, person_key, verb_id, object_id, object_in_catalog, registration,
     "timestamp", stored, voided, voids_statement_id, payload, _source_file, _loaded_at)
values
    ('s15', 'pk_optout', 'http://adlnet.gov/expapi/verbs/launched',
     'https://lms.test/c/negotiation', true, 'r7', '2024-07-01 09:00:00',
     '2024-07-01 09:00:05', false, null, '{}', 'lms/statements/b.jsonl', '2024-07-01 01:00:00'),
    ('s16', 'pk_learner', 'http://adlnet.gov/expapi/verbs/voided', 's03', false, null,
     '2024-07-01 10:00:00', '2024-07-01 10:00:05', false, 's03', '{}',
     'lms/statements/b.jsonl', '2024-07-01 01:00:00');
update raw.lms_statements set voided = true where statement_id = 's03';
-- gone from raw (e.g. an LRS purge): an incremental fact keeps it, a rebuild would not
delete from raw.lms_statements where statement_id = 's09';
"""


def _events(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            r[0]
            for r in con.execute("select statement_id from marts.fct_learning_events").fetchall()
        }


def test_second_run_is_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = marts_environment(tmp_path / "data")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    warehouse = Path(env["SKILLPATH_WAREHOUSE"])
    load_tiny_org(warehouse)
    assert materialize_marts().success
    before = _events(warehouse)
    assert {"s03", "s09"} <= before

    with duckdb.connect(str(warehouse)) as con:
        con.execute(NEXT_DAY)
    second = materialize_marts()

    assert second.success and failed_checks(second) == []
    assert _events(warehouse) == before - {"s03"} | {"s15"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        gap = con.execute(
            "select gap from marts.mart_skill_gaps "
            "where person_key = 'pk_learner' and skill_id = 'python'"
        ).fetchone()
    assert gap == (3.0,)  # the voided completion no longer proves the skill
