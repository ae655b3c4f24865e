"""MLflow logging, the registry alias, tuning and the Dagster assets on a tiny warehouse."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from ml import tracking
from ml.dataset import build_interactions
from ml.evaluate import PER_PERSON, PRIMARY_METRIC, EvalConfig, metric_name
from ml.runs import run_training
from ml.train import TrainConfig
from ml.tuning import tune
from ml.vanilla import VanillaConfig
from tests.fixtures.ml.synthetic import make_org, write_marts

CONFIG = TrainConfig(epochs=10, patience=3)
EVAL = EvalConfig(vanilla=VanillaConfig(seeds=(1,)))


@pytest.fixture(scope="module")
def org():
    return make_org(persons=200, items=80, seed=5)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    root = tmp_path_factory.mktemp("mlflow")
    return f"sqlite:///{root / 'mlflow.db'}", root / "mlartifacts"


@pytest.fixture(scope="module")
def result(org, store):
    return run_training(org.marts, CONFIG, EVAL, *store)


def test_run_logs_model_and_baselines_side_by_side(result, store):
    run = MlflowClient(store[0]).get_run(result.run_id)
    metrics = run.data.metrics
    for protocol in ("per_person", "global_time"):
        for name in (
            "published.ndcg_at_10",
            "raw.ndcg_at_10",
            "published.ndcg_at_10__baseline_role_popularity",
            "published.precision_at_10__baseline_vanilla_lightfm",
            "raw.ndcg_at_10_established",
            "published.exposure_gini",
            "persons",
        ):
            assert f"{protocol}.{name}" in metrics
    assert run.data.params["loss"] == "warp"
    assert run.data.tags["gate_protocol"] == PER_PERSON
    artifacts = {a.path for a in MlflowClient(store[0]).list_artifacts(result.run_id, "evaluation")}
    assert "evaluation/per_person_metrics_by_approach.csv" in artifacts


def test_no_person_key_is_logged(org, result, store, tmp_path):
    client = MlflowClient(store[0])
    run = client.get_run(result.run_id)
    logged = " ".join(
        [*run.data.params.values(), *run.data.params, *run.data.metrics, *run.data.tags.values()]
    )
    local = Path(client.download_artifacts(result.run_id, "", str(tmp_path)))
    blobs = b"".join(p.read_bytes() for p in local.rglob("*") if p.is_file())
    for key in org.marts.employees["person_key"]:
        assert key not in logged
        assert key.encode() not in blobs


def test_registered_challenger_loads_and_scores_after_binding(org, result, store):
    mlflow.set_tracking_uri(store[0])
    model = tracking.load_model(f"models:/{tracking.REGISTERED_MODEL}@{tracking.CHALLENGER}")
    assert not model.is_bound
    bound = model.bind(org.marts, build_interactions(org.marts))
    keys = list(org.marts.employees["person_key"][:4])
    assert (bound.score(keys) == result.model.score(keys)).all()


def test_too_little_data_trains_nothing_and_says_why(org, store):
    few = replace(org.marts, engagement=org.marts.engagement.head(20))
    outcome = run_training(few, CONFIG, EVAL, *store)
    assert outcome.model is None and "too little history" in outcome.message


def test_tuning_runs_trials_as_nested_runs(org, store):
    config, score = tune(org.marts, 2, *store, base=replace(CONFIG, epochs=3))
    runs = mlflow.search_runs(experiment_names=[tracking.EXPERIMENT], output_format="list")
    [parent] = [r for r in runs if r.info.run_name == "tune-2"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2
    # the best trial is the one with the highest hold-out metric, and the parent says so
    scores = [child.data.metrics[metric_name(PRIMARY_METRIC)] for child in children]
    best = children[int(np.argmax(scores))]
    assert score == pytest.approx(max(scores))
    assert parent.data.metrics[f"best_{PRIMARY_METRIC}"] == pytest.approx(score)
    assert config is not None
    assert {k: str(v) for k, v in config.as_params().items()} == {
        k: best.data.params[k] for k in config.as_params()
    }


def test_dagster_assets_train_evaluate_and_check(org, skillpath_env):
    from orchestration.assets import ml as ml_assets
    from orchestration.checks import ml as ml_checks
    from orchestration.resources import SkillpathResource
    from skillpath.settings import Settings

    write_marts(org.marts, Settings.from_env().warehouse)
    result = dg.materialize(
        [
            ml_assets.training_dataset,
            ml_assets.recommender_model,
            ml_assets.model_evaluation,
            ml_checks.published_lists_not_below_popularity,
        ],
        resources={"skillpath": SkillpathResource()},
        raise_on_error=False,
    )
    model = result.output_for_node("recommender_model")
    outcome = result.output_for_node("model_evaluation")
    [check] = result.get_asset_check_evaluations()
    # the production model is fitted into the MLflow run that holds its evaluation, with
    # the evaluated recipe, and the check reports the figures logged there
    assert model is not None and model.run_id == outcome.run_id
    assert outcome.recipe is not None and outcome.skipped is None
    assert model.params["epochs_trained"] == outcome.recipe.epochs
    assert set(outcome.evaluation.protocols) == {"per_person", "global_time"}
    logged = MlflowClient(Settings.from_env().mlflow_tracking_uri).get_run(model.run_id).data
    verdicts = set()
    for metric in ("ndcg_at_10", "precision_at_10"):
        baseline = check.metadata[f"{metric}.baseline"].text
        mine = check.metadata[f"{metric}.model"].value
        theirs = check.metadata[f"{metric}.baseline_value"].value
        assert mine == pytest.approx(logged.metrics[metric_name(metric)])
        assert theirs == pytest.approx(logged.metrics[metric_name(metric, baseline)])
        verdicts.add(check.metadata[f"{metric}.verdict"].text)
        # the check never passes for published lists behind the better popularity baseline
        assert not check.passed or mine >= theirs
    assert check.passed == (verdicts == {"ok"})
