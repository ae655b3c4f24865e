"""Materialising only some marts (as a data engineer does from the UI, or the recommender
asking for its inputs) works on a fresh warehouse: tests that relate a selected model to
an unselected one are not run against a table that does not exist yet."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.definitions import defs
from tests.fixtures.marts.build import load_tiny_org


def test_a_subset_of_the_marts_builds_on_a_fresh_warehouse(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(skillpath_env / "dbt_target"))
    warehouse = skillpath_env / "warehouse.duckdb"
    load_tiny_org(warehouse)
    wanted = dg.AssetKey(["marts", "dim_employee"])
    graph = defs.resolve_asset_graph()
    keys = [
        k
        for k in dg.AssetSelection.assets(wanted).upstream().resolve(graph)
        if k.path[0] != "raw"  # the hand-made organisation is already in raw.*
    ]
    result = defs.resolve_job_def("pipeline").execute_in_process(asset_selection=keys)
    assert result.success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = {
            r[0]
            for r in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
    assert "dim_employee" in built
    assert "fct_learning_events" not in built  # not selected, and nothing ran against it
