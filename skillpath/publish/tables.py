"""Tables of the ``published`` schema (docs/data-contract.md, The warehouse).

``published.current_recommendations`` is a table, not a view, so the LMS reads one
plain table and a half-written candidate can never show through it: it only changes
inside the switching transaction (``writer.switch_current``).
"""

from __future__ import annotations

import duckdb

from skillpath.warehouse import create_table_sql, ensure_layout

RECOMMENDATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("publication_id", "varchar"),
    ("person_key", "varchar"),
    ("rank", "integer"),
    ("content_id", "varchar"),
    ("score", "double"),
    ("personalised", "boolean"),
    ("reasons", "varchar"),
    ("reason_text", "varchar"),
)

PUBLISH_TABLES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("published", "publications"): (
        ("publication_id", "varchar"),
        ("run_id", "varchar"),
        ("model_name", "varchar"),
        ("model_version", "varchar"),
        ("personalised", "boolean"),
        ("fallback_reason", "varchar"),
        ("persons", "bigint"),
        ("recommendations", "bigint"),
        ("gate_results", "varchar"),
        ("status", "varchar"),
        ("message", "varchar"),
        ("champion", "varchar"),
        ("created_at", "timestamp"),
        ("finished_at", "timestamp"),
    ),
    ("published", "recommendations"): RECOMMENDATION_COLUMNS,
    ("published", "current_recommendations"): RECOMMENDATION_COLUMNS,
    # per publication, the role path of every person whose list is personalised: what
    # they are served instead should they object (opt out) before the next publication
    # (publish.overlay)
    ("published", "role_path_fallbacks"): RECOMMENDATION_COLUMNS,
}

PUBLISHED, BLOCKED, FAILED = "published", "blocked", "failed"


def ensure_publish_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_layout(con)
    for (schema, table), columns in PUBLISH_TABLES.items():
        con.execute(create_table_sql(schema, table, columns))


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    rows = con.execute(
        "select 1 from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()  # fetched to the end: DuckDB keeps a half-read result open
    return bool(rows)
