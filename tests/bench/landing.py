"""A generated organisation taken through the pipeline's own ingestion and dbt assets, as
`skillpath run` does, for the benchmarks that need marts: each in its own data
directory, with nothing quarantined (a regime that is not ingestible is a broken regime,
not a benchmark result)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from ml.data import Marts, load_marts
from skillpath.sample import SampleConfig, generate
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.environment import data_environment

MARTS_LEAF = "training_dataset"  # the first asset after the marts


@dataclass
class Landing:
    settings: Settings
    marts: Marts
    rows_in: int  # landing rows (CSV rows and statements)
    quarantined: int


def use_data_dir(root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point every location of the environment at ``root``."""
    for name, value in data_environment(root, pseudonym_key="bench-key-not-secret").items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def build_marts() -> None:
    """Ingestion and dbt (every asset upstream of the recommender) on the landing of the
    current environment."""
    from orchestration.definitions import defs

    upstream = dg.AssetSelection.assets(dg.AssetKey(MARTS_LEAF)).upstream()
    keys = [k for k in upstream.resolve(defs.resolve_asset_graph()) if k.path != [MARTS_LEAF]]
    result = defs.resolve_job_def("pipeline").execute_in_process(asset_selection=keys)
    assert result.success


def ingest_sensitive_attributes() -> None:
    """The restricted source the fairness audit reads (not upstream of the marts), as
    ``skillpath run`` ingests it: without it the fairness gate says "not audited"."""
    from orchestration.definitions import defs

    key = dg.AssetKey(["restricted", "hr_sensitive_attributes"])
    result = defs.resolve_job_def("pipeline").execute_in_process(asset_selection=[key])
    assert result.success


def sample_landing(config: SampleConfig, root: Path, monkeypatch: pytest.MonkeyPatch) -> Landing:
    """Generate ``config``'s organisation under ``root``, ingest it and build its marts."""
    settings = use_data_dir(root, monkeypatch)
    generate(config, settings.landing_dir, settings.truth_dir)
    build_marts()
    with connect(settings.warehouse, read_only=True) as con:
        rows_in, quarantined = con.execute(
            "select sum(rows_in), sum(rows_quarantined) from audit.ingest_log"
        ).fetchone()
        marts = load_marts(con)
    assert quarantined == 0, f"{config.regime}: {quarantined} rows quarantined"
    return Landing(settings, marts, int(rows_in), int(quarantined))
