"""Sensitive attributes live in ``restricted.hr_sensitive_attributes``, and only the
fairness audit reads them: ingestion writes them, erasure deletes by schema, nothing
else — no mart, model, report or export — names the table or the schema."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from skillpath.ingest import ingest_all
from skillpath.warehouse import RAW_TABLES, ensure_layout
from tests.fixtures.ingest.kit import landing, query

ROOT = Path(__file__).resolve().parents[1]
TABLE = "hr_sensitive_attributes"
# file -> why it may name the restricted table or schema
ALLOWED = {
    "skillpath/warehouse.py": "defines the schema and the table",
    "skillpath/ingest/sources.py": "declares the landing source it is loaded from",
    "skillpath/gdpr/erasure.py": "deletes an erased person from every schema",
    "skillpath/gdpr/catalog.py": "finds every table that holds a person, for erasure",
    "skillpath/gdpr/access.py": "answers a person's access request with what is held",
    "skillpath/publish/fairness.py": "the fairness audit: the one reader",
    "dbt_project/models/staging/_sources.yml": "says it is deliberately not a dbt source",
}
SOURCES = ("skillpath", "ml", "orchestration", "dbt_project/models", "dbt_project/macros")
MENTION = re.compile(rf"\brestricted\b|{TABLE}")


def test_ingestion_loads_sensitive_attributes_into_the_restricted_schema(
    skillpath_env: Path,
) -> None:
    settings = landing(skillpath_env)
    ingest_all(settings)
    rows = query(settings, f"select gender, birth_year from restricted.{TABLE} order by 2")
    assert rows == [("female", 1979), ("female", 1985), ("male", 1992), ("non_binary", 2001)]
    raw = query(
        settings,
        "select count(*) from information_schema.tables where table_schema = 'raw' "
        f"and table_name = '{TABLE}'",
    )
    assert raw == [(0,)]


def test_an_older_warehouse_has_its_sensitive_attributes_moved(tmp_path: Path) -> None:
    columns = ", ".join(f'"{name}" {kind}' for name, kind in RAW_TABLES[TABLE])
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute("create schema raw")
        con.execute(f"create table raw.{TABLE} ({columns})")
        con.execute(f"insert into raw.{TABLE} (person_key, gender) values ('k1', 'female')")
        ensure_layout(con)
        assert con.execute(f"select person_key, gender from restricted.{TABLE}").fetchall() == [
            ("k1", "female")
        ]
        leftover = con.execute(
            f"select count(*) from information_schema.tables where table_name = '{TABLE}'"
        ).fetchone()
        assert leftover == (1,)


def test_nothing_but_the_fairness_audit_reads_sensitive_attributes() -> None:
    readers = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".sql", ".yml", ".yaml") or ".venv" in path.parts:
                continue
            relative = path.relative_to(ROOT).as_posix()
            if MENTION.search(path.read_text(encoding="utf-8")) and relative not in ALLOWED:
                readers[relative] = [
                    line.strip() for line in path.read_text().splitlines() if MENTION.search(line)
                ][:3]
    assert readers == {}, "only the fairness audit may read restricted data"
    assert (ROOT / "skillpath/publish/fairness.py").exists()
