"""MLflow logging, the registry alias, tuning and the Dagster assets on a tiny warehouse."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path

import dagster as dg
import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from ml import tracking
from ml.dataset import build_interactions
from ml.evaluate import APPROACHES, MODEL, PER_PERSON, PRIMARY_METRIC, EvalConfig
from ml.params import UNDOCUMENTED
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


def test_run_is_named_and_described(org, result, store):
    run = MlflowClient(store[0]).get_run(result.run_id)
    persons = f"{len(org.marts.employees):,} persons"
    assert re.fullmatch(rf"train \d{{4}}-\d{{2}}-\d{{2}} · {persons}", run.info.run_name)
    note = run.data.tags[tracking.NOTE]
    # what the run is, its verdict line, how to read it, and the model it registered
    for part in ("Training run", "published ndcg_at_10", "How to read it", "Model", "version"):
        assert part in note


def test_each_approach_is_a_child_run_with_the_same_metric_names(result, store):
    client = MlflowClient(store[0])
    parent = client.get_run(result.run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{result.run_id}'"
    )
    by_approach = {c.data.tags[tracking.APPROACH_TAG]: c for c in children}
    assert set(by_approach) == set(APPROACHES)
    names = {approach: set(c.data.metrics) for approach, c in by_approach.items()}
    assert len({frozenset(n) for n in names.values()}) == 1  # the same names for all
    shared = names[MODEL]
    for protocol in ("per_person", "global_time"):
        for name in ("published/ndcg_at_10", "raw/ndcg_at_10", "raw.established/ndcg_at_10"):
            assert f"{protocol}.{name}" in shared
    # the parent's figures are the model's, under the same names, with the counts beside
    model = by_approach[MODEL].data.metrics
    assert {k: parent.data.metrics[k] for k in model} == model
    assert parent.data.metrics["per_person.counts/persons"] > 0
    key = tracking.metric_key(PRIMARY_METRIC)
    assert model[key] == pytest.approx(result.evaluation.value(PRIMARY_METRIC))
    role = by_approach["role_popularity"].data.metrics[key]
    assert role == pytest.approx(result.evaluation.value(PRIMARY_METRIC, "role_popularity"))
    assert parent.data.params["loss"] == "warp"
    assert parent.data.tags["gate_protocol"] == PER_PERSON


def test_plots_are_pngs_and_tables_are_logged(result, store, tmp_path):
    client = MlflowClient(store[0])
    plots = {a.path for a in client.list_artifacts(result.run_id, "plots")}
    expected = {"metrics_by_approach.png", "ndcg_by_slice.png", "precision_recall_at_k.png"}
    assert plots == {f"plots/{name}" for name in expected}
    for path in plots:
        local = Path(client.download_artifacts(result.run_id, path, str(tmp_path)))
        assert local.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and local.stat().st_size > 10_000
    tables = {a.path for a in client.list_artifacts(result.run_id, "evaluation")}
    assert "evaluation/per_person_metrics_by_approach.csv" in tables
    assert "evaluation/per_person_precision_recall_at_k.csv" in tables


def test_every_param_is_explained_and_none_is_empty(result, store, tmp_path):
    client = MlflowClient(store[0])
    params = client.get_run(result.run_id).data.params
    text = Path(client.download_artifacts(result.run_id, "params.md", str(tmp_path))).read_text()
    assert UNDOCUMENTED not in text
    for name, value in params.items():
        assert f"| `{name}` |" in text
        assert value not in ("", "nan", "None")
    # the production fit reuses the evaluation's recipe: its validation figures are that
    # validation's, not an unexplained 0 / nan
    metrics = client.get_run(result.run_id).data.metrics
    assert metrics["validation/persons"] > 0
    assert "validation persons of the evaluation's history" in text


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


@pytest.fixture(scope="module")
def tuning(org, store):
    return tune(org.marts, 2, *store, base=replace(CONFIG, epochs=3))


def test_tuning_runs_trials_as_nested_runs(tuning, store):
    client = MlflowClient(store[0])
    parent = client.get_run(tuning.run_id)
    assert re.fullmatch(r"tune \d{4}-\d{2}-\d{2} · [\d,]+ persons · 2 trials", parent.info.run_name)
    assert "Tuning run" in parent.data.tags[tracking.NOTE]
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{tuning.run_id}'"
    )
    assert len(children) == 2
    assert sorted(c.info.run_name.split(" · ")[0] for c in children) == ["trial 1/2", "trial 2/2"]
    # the best trial is the one with the highest hold-out metric, and the parent says so
    scores = [child.data.metrics[tracking.metric_key(PRIMARY_METRIC)] for child in children]
    best = children[int(np.argmax(scores))]
    assert tuning.score == pytest.approx(max(scores))
    assert parent.data.metrics[f"best/{PRIMARY_METRIC}"] == pytest.approx(tuning.score)
    assert parent.data.tags["best_trial_run_id"] == best.info.run_id
    assert tuning.best is not None
    assert {k: str(v) for k, v in tuning.best.as_params().items()} == {
        k: best.data.params[k] for k in tuning.best.as_params()
    }


def test_the_shipped_training_values_are_the_ml_defaults():
    # ml is used without skillpath (notebooks, tests): its defaults must be what ships
    from orchestration.assets.ml import train_config
    from skillpath.config import load_config

    assert replace(train_config(load_config({})), num_threads=2) == TrainConfig()


def test_dagster_assets_train_evaluate_and_check_with_the_applied_tuning(
    org, skillpath_env, monkeypatch
):
    from orchestration.assets import ml as ml_assets
    from orchestration.checks import ml as ml_checks
    from orchestration.resources import SkillpathResource
    from skillpath import cli
    from skillpath.settings import Settings

    settings = Settings.from_env()
    write_marts(org.marts, settings.warehouse)
    # `skillpath tune --trials 1 --apply` under an operator's file whose values the shipped
    # file does not have: the file written keeps them (one trial: the configured values),
    # the operator's other settings and the tuning run, and Settings loads it
    own = skillpath_env / "own.toml"
    own.write_text(
        "[training]\nno_components = 16\nlearning_rate = 0.05\n[ingest]\nmax_json_depth = 32\n"
    )
    monkeypatch.setenv("SKILLPATH_CONFIG", str(own))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert cli.main(["tune", "--trials", "1", "--apply"]) == 0, err.getvalue()
    overlay = settings.data_dir / "tuned.toml"
    assert f"export SKILLPATH_CONFIG={overlay}" in out.getvalue()
    config = Settings.from_mapping({"SKILLPATH_CONFIG": str(overlay)}).config
    assert (config.training.no_components, config.training.learning_rate) == (16, 0.05)
    assert config.ingest.max_json_depth == 32
    tuned_by = config.training.tuned_by
    monkeypatch.delenv("SKILLPATH_CONFIG")
    result = dg.materialize(
        [
            ml_assets.training_dataset,
            ml_assets.recommender_model,
            ml_assets.model_evaluation,
            ml_checks.published_lists_not_below_popularity,
        ],
        resources={"skillpath": SkillpathResource(config_file=str(overlay))},
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
        assert mine == pytest.approx(logged.metrics[tracking.metric_key(metric)])
        assert theirs == pytest.approx(outcome.evaluation.value(metric, baseline))
        verdicts.add(check.metadata[f"{metric}.verdict"].text)
        # the check never passes for published lists behind the better popularity baseline
        assert not check.passed or mine >= theirs
    rule_cost = "[below raw popularity]" in (check.description or "")
    assert check.passed == (verdicts == {"ok"} and not rule_cost)
    # the next training used the tuned values, and the lineage is recorded both ways
    assert (logged.params["no_components"], logged.params["learning_rate"]) == ("16", "0.05")
    assert logged.tags[tracking.TUNED_BY] == tuned_by
    tune_tags = MlflowClient(settings.mlflow_tracking_uri).get_run(tuned_by).data.tags
    assert tune_tags[tracking.USED_BY] == model.run_id
    assert tune_tags[tracking.APPLIED_TO] == str(overlay)
