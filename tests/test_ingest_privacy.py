"""Names and e-mail addresses are used to match identities and never stored; employee
ids only in the one mapping HR needs (published.employee_directory)."""

from __future__ import annotations

import re
from pathlib import Path

from skillpath.ingest import ingest_all
from tests.fixtures.ingest.kit import EMAILS, NAMES, landing, query

EMPLOYEE_IDS = ("E001", "E002", "E003", "E004", "E005", "E999")


def test_no_name_email_or_employee_id_in_any_table(skillpath_env: Path) -> None:
    settings = landing(skillpath_env)
    ingest_all(settings)
    tables = query(
        settings,
        "select schema_name, table_name from duckdb_tables() where not temporary",
    )
    assert len(tables) >= 17
    for schema, table in tables:
        text = " ".join(
            str(value).lower()
            for row in query(settings, f"select * from {schema}.{table}")
            for value in row
            if value is not None
        )
        for secret in (*NAMES, *EMAILS):
            assert not re.search(rf"\b{re.escape(secret.lower())}\b", text), (schema, table)
        if (schema, table) != ("published", "employee_directory"):
            for employee_id in EMPLOYEE_IDS:
                assert not re.search(rf"\b{employee_id.lower()}\b", text), (schema, table)
    directory = query(settings, "select employee_id from published.employee_directory")
    assert sorted(r[0] for r in directory) == ["E001", "E002", "E003", "E004"]
