"""The expectation suites are evaluated by Great Expectations, in the warehouse, on the
caller's open DuckDB connection; results keep the stored format of
audit.validation_results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from skillpath.ingest.ledger import ensure_ingest_layout
from skillpath.ingest.validation import validate_table
from skillpath.warehouse import connect

LOADED = "timestamp '2024-01-01 00:00:00'"


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with connect(tmp_path / "warehouse.duckdb") as con:
        ensure_ingest_layout(con)
        con.execute(
            "insert into raw.hr_employees (person_key, employment_type, status, _loaded_at) "
            f"values ('p1', 'full_time', 'active', {LOADED}), "
            f"('p2', 'part_time', 'leaver', {LOADED})"
        )
        con.execute(
            "insert into raw.survey_pulse "
            "(response_id, person_key, survey_date, engagement, enps, _loaded_at) "
            f"select 'R' || i, 'p' || (1 + i % 2), date '2024-01-01', 1 + i % 5, i % 11, {LOADED} "
            "from range(200) r(i)"
        )
        yield con


def _stored(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str | None], tuple[bool, dict]]:
    rows = con.execute(
        "select expectation, column_name, success, observed from audit.validation_results "
        "where run_id = (select run_id from audit.validation_results order by run_at desc limit 1)"
    ).fetchall()
    return {(e, c): (s, json.loads(o)) for e, c, s, o in rows}


def test_a_clean_table_passes_every_ge_expectation(con: duckdb.DuckDBPyConnection) -> None:
    results = validate_table(con, "survey_pulse")
    assert results and all(r.success for r in results), [
        r.describe() for r in results if not r.success
    ]
    stored = _stored(con)
    assert len(stored) == len(results)
    success, observed = stored[("expect_column_values_to_be_between", "engagement")]
    assert success and observed["element_count"] == 200 and observed["unexpected_count"] == 0
    success, observed = stored[("expect_table_columns_to_match_ordered_list", None)]
    assert success and observed["observed_value"][:3] == [
        "response_id",
        "person_key",
        "survey_date",
    ]
    assert stored[("expect_column_values_to_be_of_type", "survey_date")] == (
        True,
        {"observed_value": "DATE", "expected": "DATE"},
    )


def test_ge_reports_a_planted_out_of_range_value_with_its_count(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute(
        "insert into raw.survey_pulse (response_id, person_key, survey_date, engagement, "
        f"enps, _loaded_at) values ('X1', 'p1', date '2024-02-01', 9, 42, {LOADED}), "
        f"('X2', 'p2', date '2024-02-01', 9, 3, {LOADED})"
    )
    # A table of the same name outside raw must not be what GE validates.
    con.execute("create table main.survey_pulse as select * from raw.survey_pulse limit 0")
    results = {(r.expectation, r.column): r for r in validate_table(con, "survey_pulse")}
    engagement = results[("expect_column_values_to_be_between", "engagement")]
    assert not engagement.success
    # partial_unexpected_list is GE's own figure: the hand-written SQL had none
    assert engagement.observed["element_count"] == 202
    assert engagement.observed["unexpected_count"] == 2
    assert engagement.observed["partial_unexpected_list"] == [9, 9]
    enps = results[("expect_column_values_to_be_between", "enps")]
    assert not enps.success and enps.observed["unexpected_count"] == 1
    assert results[("expect_compound_columns_to_be_unique", "response_id,_loaded_at")].success
    stored = _stored(con)
    assert stored[("expect_column_values_to_be_between", "engagement")][1]["unexpected_count"] == 2


def test_unknown_persons_duplicates_and_type_drift_fail(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "insert into raw.survey_pulse (response_id, person_key, survey_date, _loaded_at) "
        f"values ('R1', 'stranger', date '2024-03-01', {LOADED})"
    )
    con.execute("alter table raw.survey_pulse alter enps type bigint")
    results = {(r.expectation, r.column): r for r in validate_table(con, "survey_pulse")}
    persons = results[("expect_column_values_to_be_in_set", "person_key")]
    assert not persons.success
    assert persons.observed["gx_expectation"] == "unexpected_rows_expectation"
    assert persons.observed["unexpected_count"] == 1 and persons.observed["element_count"] == 201
    duplicates = results[("expect_compound_columns_to_be_unique", "response_id,_loaded_at")]
    assert not duplicates.success and duplicates.observed["unexpected_count"] == 2
    enps = results[("expect_column_values_to_be_of_type", "enps")]
    assert not enps.success and enps.observed == {"observed_value": "BIGINT", "expected": "INTEGER"}
    assert not any("exception" in r.observed for r in results.values())
