"""One declaration per fact, and documents that agree with it: the data contract's tables
are rendered from the code, the loader's raw tables match the landing columns and the dbt
sources, every reason code is declared, and every document link resolves inside the
repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from skillpath import data_contract
from skillpath.ingest.reasons import REASONS, declared
from skillpath.ingest.sources import SOURCES
from skillpath.ingest.sql import problem
from skillpath.vocabulary import CONTENT_FORMATS
from skillpath.warehouse import CSV_LINEAGE, LINEAGE, RAW_TABLES

ROOT = Path(__file__).resolve().parents[1]
# raw tables that are deliberately no dbt source: sensitive attributes never reach a mart
NOT_DBT_SOURCES = {"hr_sensitive_attributes"}


def test_the_data_contract_is_rendered_from_the_code() -> None:
    doc = (ROOT / data_contract.DOC).read_text()
    assert data_contract.render(doc, ROOT) == doc, "run python -m skillpath.data_contract"


def test_a_stale_block_is_found(tmp_path: Path) -> None:
    doc = (ROOT / data_contract.DOC).read_text()
    stale = doc.replace("| `missing_value` |", "| `missing_valu` |")
    assert stale != doc
    (tmp_path / "docs").mkdir()
    (tmp_path / data_contract.DOC).write_text(stale)
    (tmp_path / "dbt_project").symlink_to(ROOT / "dbt_project")
    assert data_contract.main(["--check", "--root", str(tmp_path)]) == 1
    assert data_contract.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / data_contract.DOC).read_text() == doc


@pytest.mark.parametrize(
    "source", [s for s in SOURCES if not s.is_statements], ids=lambda s: s.table
)
def test_raw_tables_hold_exactly_the_landing_columns(source) -> None:
    declared_columns = {c.raw_name: c.raw_type for c in source.columns if c.raw_name}
    raw = dict(RAW_TABLES[source.table])
    for name, _ in CSV_LINEAGE:
        assert raw.pop(name) is not None
    assert raw == declared_columns


def test_every_source_has_a_raw_table_and_nothing_else_does() -> None:
    assert {s.table for s in SOURCES} == set(RAW_TABLES)
    statements = dict(RAW_TABLES["lms_statements"])
    assert all(statements[name] == type_ for name, type_ in LINEAGE)


def test_dbt_sources_are_the_raw_tables() -> None:
    sources = yaml.safe_load((ROOT / "dbt_project/models/staging/_sources.yml").read_text())
    [raw] = [s for s in sources["sources"] if s["name"] == "raw"]
    assert raw["schema"] == "raw"
    tables = {t["name"] for t in raw["tables"]}
    assert tables == set(RAW_TABLES) - NOT_DBT_SOURCES
    for table in raw["tables"]:
        assert table["config"]["meta"]["dagster"]["asset_key"] == ["raw", table["name"]]


def test_dbt_builds_one_affinity_per_declared_content_format() -> None:
    """dbt cannot import Python: its var repeats skillpath.vocabulary.CONTENT_FORMATS."""
    project = yaml.safe_load((ROOT / "dbt_project/dbt_project.yml").read_text())
    assert tuple(project["vars"]["content_formats"]) == CONTENT_FORMATS
    catalog = {s.table: s for s in SOURCES}["lms_catalog"]
    [format_column] = [c for c in catalog.columns if c.name == "format"]
    assert format_column.accepted == CONTENT_FORMATS


def test_an_undeclared_reason_code_is_refused() -> None:
    assert declared("unknown_actor") == "unknown_actor"
    with pytest.raises(ValueError, match=r"not declared in skillpath/ingest/reasons\.py"):
        problem("true", "made_up_reason", "'x'")
    assert "made_up_reason" not in REASONS


def _documents() -> list[Path]:
    tracked = [*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("*/README.md")]
    return sorted(p for p in tracked if ".venv" not in p.parts)


_LINK = re.compile(r"\]\((?!https?://|mailto:|#)([^)#\s]+)")
# what the project writes at run time under its data directory (data/tuned.toml, …)
RUNTIME = "data/"
_PATH = re.compile(r"`((?:[\w.-]+/)*[\w.-]+\.(?:md|py|yml|toml|ipynb|cfg))`")


@pytest.mark.parametrize("document", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_documents_point_only_inside_the_repository(document: Path) -> None:
    """Markdown links and backticked file paths resolve (relative to the document or to the
    repository root); nothing refers to a design document outside the repository."""
    text = document.read_text()
    assert "DESIGN.md" not in text and "steering" not in text
    paths = [p for p in _PATH.findall(text) if "/" in p and not p.startswith(RUNTIME)]
    for target in _LINK.findall(text) + paths:
        candidates = (document.parent / target, ROOT / target)
        assert any(c.exists() for c in candidates), f"{target} does not exist"


def test_no_code_refers_to_an_outside_design_document() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("skillpath", "ml", "orchestration", "tests", "dbt_project/models")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in {".py", ".sql", ".yml"}
        and p != Path(__file__)
        and "DESIGN.md" in p.read_text()
    ]
    assert offenders == []
