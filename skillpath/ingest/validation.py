"""Expectation suites on the raw tables, evaluated in the warehouse and stored in
``audit.validation_results`` (one row per expectation per run) for the data-quality
gate and the compliance report.

The expectations carry Great Expectations' names and figures (``element_count``,
``unexpected_count``, ``observed_value``) but are evaluated as SQL in DuckDB:
great-expectations 1.24.1 cannot run on this stack. Its SqlAlchemyExecutionEngine
releases the connection before ``fetchall()`` (``execute_query``), and duckdb 2.0.0
through duckdb-engine 0.17 drops un-fetched results on release, so every metric comes
back empty (``MetricResolutionError: list index out of range``); table assets also lose
their schema name. When that is fixed, each :class:`Expectation` maps one-to-one onto a
``great_expectations.expectations`` class.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import duckdb

from skillpath.ingest.ledger import utcnow
from skillpath.ingest.sources import SOURCES_BY_TABLE
from skillpath.ingest.sql import ident
from skillpath.warehouse import RAW_TABLES


@dataclass(frozen=True)
class Expectation:
    name: str  # the Great Expectations expectation type
    column: str | None
    violation: str | None  # SQL condition of an unexpected row; None: table-level
    details: str = ""


@dataclass(frozen=True)
class ExpectationResult:
    table: str
    expectation: str
    column: str | None
    success: bool
    observed: dict

    def describe(self) -> str:
        target = f"{self.table}.{self.column}" if self.column else self.table
        return f"{self.expectation} on {target}: {json.dumps(self.observed)}"


def suite(table: str) -> list[Expectation]:
    """The expectations of one raw table, from the same column specs that validated
    its rows on the way in (a second line of defence against loader bugs)."""
    source = SOURCES_BY_TABLE[table]
    columns = {name for name, _ in RAW_TABLES[table]}
    out = [Expectation("expect_table_columns_to_match_ordered_list", None, None)]
    key = ", ".join(ident(c) for c in source.key)
    for column in source.key:
        out.append(Expectation("expect_column_values_to_not_be_null", column, f"{column} is null"))
    version = "" if source.is_statements else ", _loaded_at"
    out.append(
        Expectation(
            "expect_compound_columns_to_be_unique",
            ",".join(source.key) + ("" if source.is_statements else ",_loaded_at"),
            f"count(*) over (partition by {key}{version}) > 1",
        )
    )
    for col in source.columns:
        name = col.raw_name
        if name is None:
            continue
        if col.accepted:
            allowed = ", ".join(f"'{a}'" for a in col.accepted)
            out.append(
                Expectation(
                    "expect_column_values_to_be_in_set", name, f"{ident(name)} not in ({allowed})"
                )
            )
        if col.low is not None and col.high is not None:
            out.append(
                Expectation(
                    "expect_column_values_to_be_between",
                    name,
                    f"{ident(name)} not between {col.low} and {col.high}",
                )
            )
    if source.is_statements:
        out += [
            Expectation(
                "expect_column_values_to_be_between",
                "result_score_scaled",
                "result_score_scaled not between -1 and 1",
            ),
            Expectation(
                "expect_column_values_to_be_between", "progress", "progress not between 0 and 1"
            ),
            Expectation(
                "expect_column_values_to_be_between",
                "result_duration_seconds",
                "result_duration_seconds < 0",
            ),
            Expectation("expect_column_values_to_not_be_null", "timestamp", "timestamp is null"),
        ]
    if "person_key" in columns:
        out.append(
            Expectation("expect_column_values_to_not_be_null", "person_key", "person_key is null")
        )
        if table != "hr_employees":
            out.append(
                Expectation(
                    "expect_column_values_to_be_in_set",
                    "person_key",
                    "person_key not in (select person_key from raw.hr_employees)",
                    details="every person of an event is an employee of the HR export",
                )
            )
    return out


def _evaluate(
    con: duckdb.DuckDBPyConnection, table: str, expectation: Expectation
) -> ExpectationResult:
    if expectation.violation is None:
        expected = [[name, type_.upper()] for name, type_ in RAW_TABLES[table]]
        observed = [
            [name, type_.upper()]
            for name, type_ in con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = 'raw' and table_name = ? order by column_index",
                [table],
            ).fetchall()
        ]
        return ExpectationResult(
            table,
            expectation.name,
            None,
            observed == expected,
            {"observed_value": [c for c, _ in observed], "expected": [c for c, _ in expected]},
        )
    uses_window = " over " in expectation.violation
    if uses_window:
        sql = (
            f"select count(*), count(*) filter (where unexpected) from "
            f"(select ({expectation.violation}) as unexpected from raw.{table})"
        )
    else:
        sql = f"select count(*), count(*) filter (where {expectation.violation}) from raw.{table}"
    total, unexpected = con.execute(sql).fetchone()
    observed = {
        "element_count": total,
        "unexpected_count": unexpected,
        "unexpected_percent": round(100.0 * unexpected / total, 4) if total else 0.0,
    }
    if expectation.details:
        observed["details"] = expectation.details
    return ExpectationResult(table, expectation.name, expectation.column, unexpected == 0, observed)


def validate_table(con: duckdb.DuckDBPyConnection, table: str) -> list[ExpectationResult]:
    """Run the suite of ``raw.<table>`` and store its results under one run id."""
    results = [_evaluate(con, table, e) for e in suite(table)]
    run_id, run_at = str(uuid.uuid4()), utcnow()
    con.executemany(
        "insert into audit.validation_results values (?, ?, ?, ?, ?, ?, ?)",
        [
            [run_id, r.table, r.expectation, r.column, r.success, json.dumps(r.observed), run_at]
            for r in results
        ],
    )
    return results
