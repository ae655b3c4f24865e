"""The warehouse layout shared by ingestion (writer of ``raw`` and ``audit``) and dbt
(reader of ``raw``, see ``dbt_project/models/staging/_sources.yml``).

Raw tables hold validated, typed rows only: anything that fails validation is in
``audit.quarantine`` instead. Personal identifiers (names, e-mail addresses, employee
ids) never reach these tables; persons appear as ``person_key`` (HMAC-SHA256 of the
employee id). Every raw table carries the lineage columns ``_source_file`` and
``_loaded_at``; CSV tables also keep unknown extra columns as JSON in ``_extra``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

SCHEMAS = ("raw", "staging", "intermediate", "marts", "ml", "published", "audit", "restricted")
# Loaded tables that live in the ``restricted`` schema instead of ``raw``: sensitive
# attributes, read only by the fairness audit (``skillpath/publish/fairness.py``; a test
# fails when anything else names them). Nothing in dbt sees this schema.
RESTRICTED = frozenset({"hr_sensitive_attributes"})

LINEAGE = (("_source_file", "varchar"), ("_loaded_at", "timestamp"))
CSV_LINEAGE = (("_extra", "varchar"), *LINEAGE)

# table -> ordered (column, type); types are DuckDB types. Every table ingestion loads,
# in schema ``raw`` unless it is one of ``RESTRICTED`` (``qualified`` names either).
RAW_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "hr_employees": (
        ("person_key", "varchar"),
        ("manager_key", "varchar"),
        ("department", "varchar"),
        ("job_code", "varchar"),
        ("location", "varchar"),
        ("hire_date", "date"),
        ("employment_type", "varchar"),
        ("status", "varchar"),
        ("leave_date", "date"),
        *CSV_LINEAGE,
    ),
    "hr_sensitive_attributes": (
        ("person_key", "varchar"),
        ("gender", "varchar"),
        ("birth_year", "integer"),
        ("disability", "varchar"),
        *CSV_LINEAGE,
    ),
    "hr_roles": (
        ("job_code", "varchar"),
        ("title", "varchar"),
        ("job_family", "varchar"),
        ("level", "integer"),
        *CSV_LINEAGE,
    ),
    "hr_role_skill_requirements": (
        ("job_code", "varchar"),
        ("skill_id", "varchar"),
        ("required_level", "integer"),
        ("importance", "integer"),
        *CSV_LINEAGE,
    ),
    "hr_personalisation_consent": (
        ("person_key", "varchar"),
        ("opted_out", "boolean"),
        ("changed_at", "timestamp"),
        *CSV_LINEAGE,
    ),
    "skills": (
        ("skill_id", "varchar"),
        ("name", "varchar"),
        ("category", "varchar"),
        ("parent_skill_id", "varchar"),
        *CSV_LINEAGE,
    ),
    "lms_catalog": (
        ("content_id", "varchar"),
        ("title", "varchar"),
        ("format", "varchar"),
        ("duration_minutes", "integer"),
        ("level", "integer"),
        ("language", "varchar"),
        ("provider", "varchar"),
        ("active", "boolean"),
        ("mandatory", "boolean"),
        *CSV_LINEAGE,
    ),
    "lms_content_skills": (
        ("content_id", "varchar"),
        ("skill_id", "varchar"),
        ("level_taught", "integer"),
        *CSV_LINEAGE,
    ),
    "lms_prerequisites": (
        ("content_id", "varchar"),
        ("requires_content_id", "varchar"),
        *CSV_LINEAGE,
    ),
    "lms_statements": (
        ("statement_id", "varchar"),
        ("person_key", "varchar"),
        ("verb_id", "varchar"),
        ("object_id", "varchar"),
        ("object_in_catalog", "boolean"),
        ("registration", "varchar"),
        ("timestamp", "timestamp"),
        ("stored", "timestamp"),
        ("result_score_scaled", "double"),
        ("result_score_raw", "double"),
        ("result_score_min", "double"),
        ("result_score_max", "double"),
        ("result_success", "boolean"),
        ("result_completion", "boolean"),
        ("result_duration_seconds", "double"),
        ("progress", "double"),
        ("voided", "boolean"),
        ("voids_statement_id", "varchar"),
        ("payload", "varchar"),
        *LINEAGE,
    ),
    "survey_pulse": (
        ("response_id", "varchar"),
        ("person_key", "varchar"),
        ("survey_date", "date"),
        ("engagement", "integer"),
        ("enps", "integer"),
        *CSV_LINEAGE,
    ),
    "survey_course_feedback": (
        ("response_id", "varchar"),
        ("person_key", "varchar"),
        ("content_id", "varchar"),
        ("rating", "integer"),
        ("relevance", "integer"),
        ("submitted_at", "timestamp"),
        *CSV_LINEAGE,
    ),
    "survey_skill_assessments": (
        ("assessment_id", "varchar"),
        ("person_key", "varchar"),
        ("skill_id", "varchar"),
        ("level", "integer"),
        ("source", "varchar"),
        ("assessed_at", "timestamp"),
        *CSV_LINEAGE,
    ),
}

AUDIT_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "ingest_log": (
        ("source", "varchar"),
        ("file", "varchar"),
        ("checksum", "varchar"),
        ("rows_in", "bigint"),
        ("rows_loaded", "bigint"),
        ("rows_quarantined", "bigint"),
        ("rows_duplicate", "bigint"),
        ("status", "varchar"),
        ("message", "varchar"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("delivered_at", "timestamp"),  # the file's modification time
        # rows of persons on the erasure suppression list: counted, never loaded (a
        # writer that does not name it erased none)
        ("rows_erased", "bigint default 0"),
    ),
    # the suppression list: one keyed token per identifier of an erased person
    # (privacy.suppression_token); ingestion counts their re-delivered rows as erased
    "erasure_suppression": (("token", "varchar"),),
    "quarantine": (
        ("source", "varchar"),
        ("file", "varchar"),
        ("row_number", "bigint"),
        ("payload", "varchar"),
        ("reason_code", "varchar"),
        ("reason", "varchar"),
        ("quarantined_at", "timestamp"),
    ),
    # runs killed while they held the warehouse, cleaned up by the next command
    # (orchestration/recovery.py, docs/operations.md)
    "interrupted_runs": (
        ("command", "varchar"),
        ("pid", "bigint"),
        ("host", "varchar"),
        ("started_at", "timestamp"),
        ("detected_at", "timestamp"),
        ("detected_by", "varchar"),
        ("dagster_runs_failed", "varchar"),  # JSON list of run ids
        ("mlflow_runs_killed", "varchar"),  # JSON list of run ids
        ("publications_interrupted", "varchar"),  # JSON list of publication ids
    ),
}


# Columns stored with another compression than DuckDB would pick. Statement payloads are
# JSON texts of one shape: zstd makes them several times smaller than the default
# (dictionary + FSST) and costs half its CPU time when a million statements are loaded
# (docs/benchmarks.md). A table keeps the compression it was created with.
COMPRESSION: dict[tuple[str, str, str], str] = {("raw", "lms_statements", "payload"): "zstd"}


def _column_sql(schema: str, table: str, name: str, type_: str) -> str:
    method = COMPRESSION.get((schema, table, name))
    return f'"{name}" {type_}' + (f" using compression {method}" if method else "")


def create_table_sql(schema: str, table: str, columns: tuple[tuple[str, str], ...]) -> str:
    cols = ", ".join(_column_sql(schema, table, name, type_) for name, type_ in columns)
    return f"create table if not exists {schema}.{table} ({cols})"


def table_schema(table: str) -> str:
    """The schema a loaded table lives in: ``restricted`` or ``raw``."""
    return "restricted" if table in RESTRICTED else "raw"


def qualified(table: str) -> str:
    """``schema.table`` of a loaded table."""
    return f"{table_schema(table)}.{table}"


def _move_restricted(con: duckdb.DuckDBPyConnection) -> None:
    """Warehouses made before the ``restricted`` schema held sensitive attributes in
    ``raw``: move them (rows and lineage unchanged) so no second copy stays readable."""
    for table in RESTRICTED:
        old = con.execute(
            "select 1 from information_schema.tables where table_schema = 'raw' and table_name = ?",
            [table],
        ).fetchone()
        if old:
            con.execute(f"insert into restricted.{table} by name select * from raw.{table}")
            con.execute(f"drop table raw.{table}")


def ensure_layout(con: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, loaded and audit tables if missing, so an empty landing directory
    still yields a warehouse that dbt can build on (optional sources stay empty)."""
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    for table, columns in RAW_TABLES.items():
        con.execute(create_table_sql(table_schema(table), table, columns))
    _move_restricted(con)
    for table, columns in AUDIT_TABLES.items():
        con.execute(create_table_sql("audit", table, columns))
    _add_new_raw_columns(con)


def _add_new_raw_columns(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse made by an earlier version gets the optional columns added since
    (e.g. ``lms_catalog.mandatory``), empty for the rows already loaded."""
    present = set(
        con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('raw', 'restricted') and table_catalog = current_database()"
        ).fetchall()
    )
    for table, columns in RAW_TABLES.items():
        for name, type_ in columns:
            if (table_schema(table), table, name) not in present:
                con.execute(f'alter table {qualified(table)} add column "{name}" {type_}')


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()
