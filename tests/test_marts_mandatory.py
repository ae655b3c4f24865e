"""Mandatory content comes from the catalogue's optional ``mandatory`` column, end to end:
landing file → ingestion → dbt → ``marts.dim_content.is_mandatory``; a catalogue
delivered without the column loads with nothing mandatory, and an invalid value is
quarantined like any other bad boolean. Statements marked by a configured assignment IRI
(``marts.assignment_iris``) make their item mandatory too (the variants of marking are
pinned by the dbt unit tests of ``int_learning__assigned_content``)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from orchestration.definitions import defs
from skillpath.ingest import ingest_source
from skillpath.sample import SampleConfig, generate
from skillpath.sample.truth import load_truth
from skillpath.settings import Settings
from skillpath.warehouse import RAW_TABLES, connect, create_table_sql
from tests.fixtures.ingest.kit import landing, query

CATALOG = "lms/catalog.csv"
ASSIGNED = "https://lms.example.com/xapi/extensions/assigned"
NEGOTIATION = "https://lms.example.org/content/negotiation"


def _with_mandatory_column(path: Path, values: dict[str, str]) -> None:
    """The fixture catalogue with a ``mandatory`` column (content id → cell text)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = [lines[0] + ",mandatory"]
    out += [f"{line},{values.get(line.split(',')[0], 'false')}" for line in lines[1:]]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _build_dim_content() -> None:
    """Ingestion and every model up to dim_content, as `skillpath run` does them."""
    wanted = dg.AssetKey(["marts", "dim_content"])
    keys = dg.AssetSelection.assets(wanted).upstream().resolve(defs.resolve_asset_graph())
    result = defs.resolve_job_def("pipeline").execute_in_process(asset_selection=list(keys))
    assert result.success


def _assignment_statement(landing: Path, content_id: str) -> None:
    """An LMS statement that assigns ``content_id`` to the first employee, marked by the
    organisation's own context extension."""
    employee = pd.read_csv(landing / "hr/employees.csv", dtype=str).iloc[0]
    statement = {
        "id": "0b9a4c44-3c2e-4f39-9d53-0e0f5b8f4a11",
        "actor": {"objectType": "Agent", "mbox": f"mailto:{employee['email']}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/registered"},
        "object": {"objectType": "Activity", "id": content_id},
        "context": {"extensions": {ASSIGNED: True}},
        "timestamp": "2026-10-05T09:00:00Z",
    }
    (landing / "lms/statements/assignments.jsonl").write_text(json.dumps(statement) + "\n")


def test_the_mandatory_column_and_assignment_statements_reach_dim_content(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(skillpath_env / "dbt_target"))
    own_config = skillpath_env.parent / "skillpath.toml"
    own_config.write_text(f'[marts]\nassignment_iris = ["{ASSIGNED}"]\n')
    monkeypatch.setenv("SKILLPATH_CONFIG", str(own_config))
    settings = Settings.from_env()
    # the sample organisation marks its compliance campaigns through the column ...
    generate(SampleConfig(employees=20, months=1), settings.landing_dir, settings.truth_dir)
    campaigns = load_truth(settings.truth_dir).content["campaign_month"] >= 0
    assert campaigns.sum() >= 2 and (~campaigns).sum() > 100
    # ... and the LMS assigns one more item to one person
    assigned = campaigns.index[~campaigns][0]
    _assignment_statement(settings.landing_dir, assigned)
    _build_dim_content()
    rows = query(
        settings, "select content_id, is_mandatory, mandatory_source from marts.dim_content"
    )
    dim = pd.DataFrame(rows, columns=["content_id", "is_mandatory", "source"]).set_index(
        "content_id"
    )
    expected = campaigns.copy()
    expected[assigned] = True
    marked = set(dim.index[dim["is_mandatory"].astype(bool)])
    assert marked == set(expected.index[expected])
    assert dim.loc[assigned, "source"] == "lms_assignment"
    assert set(dim.loc[campaigns[campaigns].index, "source"]) == {"catalog"}


def test_a_catalogue_without_the_column_loads_unknown_and_staging_reads_false(
    skillpath_env: Path,
) -> None:
    """Without the column every row loads with ``mandatory`` null; staging's default
    (null → false) is pinned by the unit test of ``stg_lms__catalog``."""
    settings = landing(skillpath_env, (CATALOG,))
    [file] = ingest_source(settings, "lms_catalog").files
    assert file.rows_loaded == 4 and "mandatory" not in file.message
    assert query(settings, "select count(*), count(mandatory) from raw.lms_catalog") == [(4, 0)]


def test_an_invalid_mandatory_value_is_quarantined_with_its_column(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, (CATALOG,))
    _with_mandatory_column(settings.landing_dir / CATALOG, {NEGOTIATION: "sometimes"})
    [file] = ingest_source(settings, "lms_catalog").files
    assert (file.rows_loaded, file.rows_quarantined) == (3, 1)
    [(code, reason)] = query(settings, "select reason_code, reason from audit.quarantine")
    assert code == "invalid_type" and "column mandatory" in reason
    assert query(settings, "select count(*) from raw.lms_catalog where mandatory is not null") == [
        (3,)
    ]


def test_a_warehouse_from_before_the_column_gets_it(skillpath_env: Path) -> None:
    """``raw.lms_catalog`` created by an earlier version (no ``mandatory``) is widened
    on the next ingestion instead of failing the insert."""
    settings = landing(skillpath_env, (CATALOG,))
    old = tuple(c for c in RAW_TABLES["lms_catalog"] if c[0] != "mandatory")
    with connect(settings.warehouse) as con:
        con.execute("create schema raw")
        con.execute(create_table_sql("raw", "lms_catalog", old))
    _with_mandatory_column(settings.landing_dir / CATALOG, {NEGOTIATION: "true"})
    assert ingest_source(settings, "lms_catalog").files[0].rows_loaded == 4
    assert query(settings, "select content_id from raw.lms_catalog where mandatory") == [
        (NEGOTIATION,)
    ]
