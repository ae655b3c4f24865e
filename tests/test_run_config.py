"""Launchpad run options (orchestration/run_config.py) on a tiny warehouse: a run config
takes effect in what is trained and logged, a wrong value is refused before training, and
runs without run config keep the configuration's values."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from tests.fixtures.ml.synthetic import make_org, write_marts

# a light configuration: one protocol, no vanilla reference (the options are the point)
LIGHT = '[evaluation]\nprotocols = ["per_person"]\nvanilla_seeds = []\n'


def _materialize(skillpath_env: Path, run_config: dict | None) -> dg.ExecuteInProcessResult:
    from orchestration.assets import ml as ml_assets
    from orchestration.resources import SkillpathResource
    from skillpath.settings import Settings

    settings = Settings.from_env()
    write_marts(make_org(persons=120, items=50, seed=3).marts, settings.warehouse)
    own = skillpath_env / "light.toml"
    own.write_text(LIGHT)
    return dg.materialize(
        [ml_assets.training_dataset, ml_assets.model_evaluation, ml_assets.recommender_model],
        resources={"skillpath": SkillpathResource(config_file=str(own))},
        run_config=run_config,
        raise_on_error=False,
    )


def _params(run_id: str) -> dict[str, str]:
    from skillpath.settings import Settings

    return MlflowClient(Settings.from_env().mlflow_tracking_uri).get_run(run_id).data.params


def test_a_run_config_sets_threads_and_seed_of_this_run(skillpath_env):
    options = {"threads": 1, "seed": 7}
    result = _materialize(
        skillpath_env,
        {
            "ops": {
                "model_evaluation": {"config": options},
                "recommender_model": {"config": options},
            }
        },
    )
    assert result.success
    model = result.output_for_node("recommender_model")
    params = _params(model.run_id)
    assert (params["num_threads"], params["seed"]) == ("1", "7")


def test_without_run_config_the_configuration_applies(skillpath_env):
    from skillpath.config import load_config

    result = _materialize(skillpath_env, None)
    assert result.success
    params = _params(result.output_for_node("recommender_model").run_id)
    assert params["num_threads"] == str(load_config({}).training.threads)
    assert params["seed"] == "42"


@pytest.mark.parametrize("option, value", [("threads", 0), ("threads", 65), ("seed", -1)])
def test_a_value_out_of_range_is_refused_with_the_range(option, value):
    from ml.train import TrainConfig
    from orchestration.run_config import TrainingRunConfig

    with pytest.raises(dg.Failure, match=rf"{option}={value} is outside \[\d+, \d+\]"):
        TrainingRunConfig(**{option: value}).apply(TrainConfig())


def test_a_wrong_value_fails_the_run_before_training(skillpath_env):
    result = _materialize(skillpath_env, {"ops": {"model_evaluation": {"config": {"threads": 0}}}})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "model_evaluation"
    assert "threads=0 is outside [1, 64]" in str(failure.event_specific_data.error)
    assert result.output_for_node("training_dataset") is not None
