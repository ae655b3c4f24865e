"""Expectation suites on the raw tables, evaluated by Great Expectations in the warehouse
and stored in ``audit.validation_results`` (one row per expectation per run) for the
data-quality gate and the compliance report.

Each raw table gets a GE ``ExpectationSuite`` and is validated as a table asset of GE's
SQL datasource: GE compiles every metric to SQL that DuckDB runs (no rows are loaded
into pandas). The SQLAlchemy engine GE uses is built on the caller's open DuckDB
connection (``skillpath.ingest.gx_duckdb``, which also explains the three fixes that
make great-expectations 1.24.1 work with duckdb-engine 0.17 and duckdb 2.0).

A stored row names the GE expectation type that evaluated it and keeps GE's figures
(``element_count``, ``unexpected_count``, ``unexpected_percent``, ``observed_value``, a
few ``partial_unexpected_list`` values); an expectation GE could not evaluate is stored as
failed, with the error under ``exception``.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from skillpath.ingest import gx_duckdb
from skillpath.ingest.ledger import utcnow
from skillpath.ingest.sources import SOURCES_BY_TABLE
from skillpath.warehouse import RAW_TABLES, qualified, table_schema

log = logging.getLogger(__name__)


class _NoTopLevelTypesWarning(logging.Filter):
    """GE warns on every type expectation of a dialect it has no type module for; the
    dialect here reflects top-level SQLAlchemy types on purpose (see gx_duckdb)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "relying on top-level sqlalchemy types" not in record.getMessage()


logging.getLogger("great_expectations.expectations.type_comparison").addFilter(
    _NoTopLevelTypesWarning()
)

RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 5}
_KEPT = (
    "observed_value",
    "element_count",
    "unexpected_count",
    "unexpected_percent",
    "missing_count",
    "partial_unexpected_list",
)


@dataclass(frozen=True)
class Expectation:
    name: str  # the Great Expectations expectation type
    column: str | None  # as stored in column_name (compound keys comma-joined)
    gx: gxe.Expectation = field(compare=False)
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
        return f"{self.expectation} on {target}: {json.dumps(self.observed, default=str)}"


def _expect(gx_expectation: gxe.Expectation, column: str | None, details: str = "") -> Expectation:
    return Expectation(gx_expectation.expectation_type, column, gx_expectation, details)


def suite(table: str) -> list[Expectation]:
    """The expectations of one raw table, from the same column specs that validated
    its rows on the way in (a second line of defence against loader bugs)."""
    source = SOURCES_BY_TABLE[table]
    columns = RAW_TABLES[table]
    out = [
        _expect(
            gxe.ExpectTableColumnsToMatchOrderedList(column_list=[name for name, _ in columns]),
            None,
        )
    ]
    out += [
        _expect(
            gxe.ExpectColumnValuesToBeOfType(
                column=name, type_=gx_duckdb.sqlalchemy_type_name(type_)
            ),
            name,
        )
        for name, type_ in columns
    ]
    for column in source.key:
        out.append(_expect(gxe.ExpectColumnValuesToNotBeNull(column=column), column))
    unique = [*source.key, *(() if source.is_statements else ("_loaded_at",))]
    if len(unique) == 1:
        out.append(_expect(gxe.ExpectColumnValuesToBeUnique(column=unique[0]), unique[0]))
    else:
        out.append(
            _expect(gxe.ExpectCompoundColumnsToBeUnique(column_list=unique), ",".join(unique))
        )
    for col in source.columns:
        name = col.raw_name
        if name is None:
            continue
        if col.accepted:
            out.append(
                _expect(
                    gxe.ExpectColumnValuesToBeInSet(column=name, value_set=list(col.accepted)),
                    name,
                )
            )
        if col.low is not None and col.high is not None:
            out.append(
                _expect(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=name, min_value=col.low, max_value=col.high
                    ),
                    name,
                )
            )
    if source.is_statements:
        out += [
            _expect(
                gxe.ExpectColumnValuesToBeBetween(
                    column="result_score_scaled", min_value=-1, max_value=1
                ),
                "result_score_scaled",
            ),
            _expect(
                gxe.ExpectColumnValuesToBeBetween(column="progress", min_value=0, max_value=1),
                "progress",
            ),
            _expect(
                gxe.ExpectColumnValuesToBeBetween(column="result_duration_seconds", min_value=0),
                "result_duration_seconds",
            ),
            _expect(gxe.ExpectColumnValuesToNotBeNull(column="timestamp"), "timestamp"),
        ]
    if any(name == "person_key" for name, _ in columns):
        if "person_key" not in source.key:
            out.append(
                _expect(gxe.ExpectColumnValuesToNotBeNull(column="person_key"), "person_key")
            )
        if table != "hr_employees":
            out.append(_persons_known_to_hr())
    return _distinct(out)


def _persons_known_to_hr() -> Expectation:
    """``person_key`` values in the set of HR's person keys, as GE's
    ``UnexpectedRowsExpectation`` with an anti-join. GE's ``ExpectColumnValuesToBeInSet``
    would inline every employee's key as a literal list, which DuckDB scans row by row
    inside GE's CASE expression: 5.7 s on 1M statements and 5,000 employees, against
    0.1 s for the anti-join. Stored under the name of the rule it checks,
    ``expect_column_values_to_be_in_set``, with ``gx_expectation`` naming the GE type."""
    query = (
        "select person_key from {batch} where person_key not in "
        "(select person_key from raw.hr_employees where person_key is not null)"
    )
    return Expectation(
        "expect_column_values_to_be_in_set",
        "person_key",
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=query,
            description="every person of an event is an employee of the HR export",
        ),
        details="every person of an event is an employee of the HR export",
    )


def _distinct(expectations: list[Expectation]) -> list[Expectation]:
    """GE keeps one of equal expectations in a suite: so do we, keeping the first."""
    seen: set[str] = set()
    out = []
    for e in expectations:
        key = json.dumps([e.name, e.gx.configuration.kwargs], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def _context() -> Any:
    """An in-memory GE context: no files, no usage statistics, no progress bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _observed(expectation: Expectation, result: Any) -> dict:
    figures = result.result or {}
    observed: dict[str, Any] = {k: figures[k] for k in _KEPT if figures.get(k) is not None}
    if "unexpected_percent" in observed:
        observed["unexpected_percent"] = round(observed["unexpected_percent"], 4)
    kwargs = expectation.gx.configuration.kwargs
    if "column_list" in kwargs and expectation.name.startswith("expect_table_columns"):
        observed["expected"] = list(kwargs["column_list"])
    if "type_" in kwargs:
        observed["expected"] = kwargs["type_"]
    if expectation.gx.expectation_type != expectation.name:
        observed["gx_expectation"] = expectation.gx.expectation_type
        if isinstance(expectation.gx, gxe.UnexpectedRowsExpectation):
            observed["unexpected_count"] = observed.pop("observed_value", None)
    if expectation.details:
        observed["details"] = expectation.details
    info = result.exception_info or {}
    if info.get("raised_exception"):
        observed["exception"] = str(info.get("exception_message"))
    # JSON-safe (sample values may be dates or timestamps): stored and shown in Dagster
    return json.loads(json.dumps(observed, default=str))


def evaluate(con: duckdb.DuckDBPyConnection, table: str) -> list[ExpectationResult]:
    """Validate ``raw.<table>`` with its GE suite (nothing stored)."""
    expectations = suite(table)
    context = _context()
    datasource = context.data_sources.add_sql(
        name="warehouse",
        connection_string=gx_duckdb.URL,
        kwargs=gx_duckdb.engine_kwargs(con),
    )
    try:
        batch = (
            datasource.add_table_asset(
                name=table, table_name=table, schema_name=table_schema(table)
            )
            .add_batch_definition_whole_table("all")
            .get_batch()
        )
        gx_suite = gx.ExpectationSuite(name=qualified(table))
        for i, expectation in enumerate(expectations):
            gx_expectation = expectation.gx.copy(update={"meta": {"index": i}})
            gx_suite.add_expectation(gx_expectation)
        outcome = batch.validate(gx_suite, result_format=RESULT_FORMAT)
    finally:
        # GE keeps its last context for the process: drop the datasource, so no engine,
        # cursor or cached DuckDB object of this connection outlives the validation.
        datasource.get_execution_engine().engine.dispose()
        context.data_sources.delete(datasource.name)
    by_index = {r.expectation_config.meta["index"]: r for r in outcome.results}
    rows = next(
        (r.result["element_count"] for r in outcome.results if "element_count" in r.result),
        None,
    )
    results = []
    for i, expectation in enumerate(expectations):
        result = by_index[i]
        observed = _observed(expectation, result)
        unexpected = observed.get("unexpected_count")
        if "element_count" not in observed and rows is not None and unexpected is not None:
            observed["element_count"] = rows
            observed["unexpected_percent"] = round(100.0 * unexpected / rows, 4) if rows else 0.0
        if "exception" in observed:
            log.warning(
                "GE could not evaluate %s on raw.%s: %s",
                expectation.name,
                table,
                observed["exception"],
            )
        results.append(
            ExpectationResult(
                table, expectation.name, expectation.column, bool(result.success), observed
            )
        )
    return results


def validate_table(con: duckdb.DuckDBPyConnection, table: str) -> list[ExpectationResult]:
    """Run the suite of ``raw.<table>`` and store its results under one run id."""
    results = evaluate(con, table)
    run_id, run_at = str(uuid.uuid4()), utcnow()
    con.executemany(
        "insert into audit.validation_results values (?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id,
                r.table,
                r.expectation,
                r.column,
                r.success,
                json.dumps(r.observed, default=str),
                run_at,
            ]
            for r in results
        ],
    )
    return results
