"""Assets hand person-level values over without leaving them in Dagster's storage, and a
later run loads them again as they were."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from orchestration.assets import ml as ml_assets
from orchestration.assets.publish import candidate_recommendations
from orchestration.io_manager import WarehouseIOManager
from orchestration.resources import SkillpathResource
from skillpath.settings import Settings
from tests.fixtures.ml.synthetic import make_org, write_marts
from tests.fixtures.privacy.traces import file_traces

ASSETS = [
    ml_assets.training_dataset,
    ml_assets.model_evaluation,
    ml_assets.recommender_model,
    candidate_recommendations,
]


def _resources() -> dict:
    skillpath = SkillpathResource()
    return {"skillpath": skillpath, "io_manager": WarehouseIOManager(skillpath=skillpath)}


def test_a_later_run_loads_what_an_earlier_one_handed_over(
    skillpath_env: Path, monkeypatch
) -> None:
    quick = skillpath_env.parent / "quick.toml"  # one protocol, no vanilla references
    quick.write_text('[evaluation]\nprotocols = ["per_person"]\nvanilla_seeds = []\n')
    monkeypatch.setenv("SKILLPATH_CONFIG", str(quick))
    settings = Settings.from_env()
    org = make_org(persons=120, items=60, seed=3)
    write_marts(org.marts, settings.warehouse)
    settings.dagster_home.mkdir(parents=True)
    instance = dg.DagsterInstance.local_temp(str(settings.dagster_home))
    whole = dg.materialize(ASSETS, resources=_resources(), instance=instance)
    assert whole.success
    # a person re-materializes the candidate lists alone: model and marts come back from
    # the warehouse (the model unbound, bound again) and rank exactly as before
    alone = dg.materialize(
        ASSETS, selection=["candidate_recommendations"], resources=_resources(), instance=instance
    )
    assert alone.success
    pd.testing.assert_frame_equal(
        whole.output_for_node("candidate_recommendations"),
        alone.output_for_node("candidate_recommendations"),
    )
    evaluation = _resources()["io_manager"].load_input(
        dg.build_input_context(asset_key=dg.AssetKey("model_evaluation"))
    )
    handed = whole.output_for_node("model_evaluation").evaluation.gate
    pd.testing.assert_frame_equal(evaluation.evaluation.gate.per_person, handed.per_person)
    keys = list(org.marts.employees["person_key"])
    assert file_traces(settings.dagster_home, keys) == []


def test_a_person_key_outside_a_person_table_is_refused(skillpath_env: Path) -> None:
    @dg.asset
    def leaky() -> dict:
        return {"lists": {"3f" * 32: ["c1", "c2"]}}  # persons as dictionary keys

    with pytest.raises(TypeError, match="shaped like a person key"):
        dg.materialize([leaky], resources=_resources())
