"""The publishing assets and gate checks, materialised in process with stand-ins for
the recommender's assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd

from ml.data import Marts
from ml.runs import EvaluationOutcome
from orchestration.assets.publish import candidate_recommendations, publication
from orchestration.checks.publish import GATE_CHECKS
from orchestration.resources import SkillpathResource
from skillpath.publish.report import REPORT_NAME
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.publish.org import Org
from tests.fixtures.publish.warehouse import keys, seed_ingestion


def _upstream(org: Org, evaluation: EvaluationOutcome) -> list[dg.AssetsDefinition]:
    @dg.asset(name="training_dataset")
    def training_dataset() -> Marts:
        return org.marts()

    @dg.asset(name="recommender_model")
    def recommender_model() -> object | None:
        return None

    @dg.asset(name="model_evaluation")
    def model_evaluation() -> EvaluationOutcome:
        return evaluation

    return [training_dataset, recommender_model, model_evaluation]


def test_fallback_publication_through_dagster(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    seed_ingestion(settings)
    persons = dict.fromkeys(keys(settings).values(), "DA")
    content = {f"c{i}": ("course", {"S1": 1 + i % 4}) for i in range(12)}
    org = Org(persons=persons, content=content)
    evaluation = EvaluationOutcome(None, None, None, skipped="only 3 persons with history")
    result = dg.materialize(
        [*_upstream(org, evaluation), candidate_recommendations, publication, *GATE_CHECKS],
        resources={"skillpath": SkillpathResource()},
    )
    assert result.success
    out = result.output_for_node("publication")
    assert out["status"] == "published"
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"gate_data_quality", "gate_model_quality", "gate_fairness"}
    # the placeholder fairness audit and the fallback are not green passes: failed checks
    # of severity WARN
    assert checks["gate_data_quality"].passed
    model_quality = checks["gate_model_quality"]
    assert not model_quality.passed and model_quality.severity == dg.AssetCheckSeverity.WARN
    fairness = checks["gate_fairness"]
    assert not fairness.passed and fairness.severity == dg.AssetCheckSeverity.WARN
    assert fairness.metadata["status"].value == "not_audited"
    meta = result.asset_materializations_for_node("publication")[0].metadata
    assert meta["status"].value == "published"
    assert "only 3 persons" in meta["gate_model_quality"].value["message"]
    with connect(settings.warehouse, read_only=True) as con:
        current = con.execute("select * from published.current_recommendations").df()
    assert isinstance(current, pd.DataFrame)
    assert len(current) == 3 * 3  # 12 S1 items, capped at 3 per skill
    assert not current["personalised"].any()


def test_a_blocked_publication_fails_its_gate_check(skillpath_env: Path) -> None:
    settings = Settings.from_env()
    seed_ingestion(settings, quarantined=50)
    org = Org(persons=dict.fromkeys(keys(settings).values(), "DA"), content={"c": ("video", {})})
    result = dg.materialize(
        [
            *_upstream(org, EvaluationOutcome(None, None, None, "no model")),
            candidate_recommendations,
            publication,
            *GATE_CHECKS,
        ],
        resources={"skillpath": SkillpathResource()},
        raise_on_error=False,
    )
    assert result.output_for_node("publication")["status"] == "blocked"
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["gate_data_quality"] is False


def test_too_little_data_is_a_warning_with_the_figures_training_saw(skillpath_env: Path) -> None:
    """Table row 14: 40 employees, one month of data: no model, the role path published
    with exit 0 while the gate passed on '0 interactions from 0 persons' and training
    logged 33 from 20. The gate now warns, with the production training's figures, the
    ones its MLflow run records; the report and skillpath status show the warning."""
    from dataclasses import replace

    from mlflow.tracking import MlflowClient

    from orchestration.assets import ml as ml_assets
    from skillpath.publish.commands import render_status
    from tests.fixtures.ml.synthetic import make_org

    settings = Settings.from_env()
    seed_ingestion(settings)
    marts = make_org(persons=40, items=40, seed=3).marts
    end = marts.engagement["last_event_at"].max()
    one_month = marts.engagement["first_event_at"] >= end - pd.Timedelta(days=30)
    marts = replace(marts, engagement=marts.engagement[one_month])

    @dg.asset(name="training_dataset")
    def training_dataset() -> Marts:
        return marts

    result = dg.materialize(
        [
            training_dataset,
            ml_assets.model_evaluation,
            ml_assets.recommender_model,
            candidate_recommendations,
            publication,
            *GATE_CHECKS,
        ],
        resources={"skillpath": SkillpathResource()},
    )
    no_model = result.output_for_node("recommender_model")
    seen = no_model.figures
    assert 0 < seen["positive_interactions"] < seen["min_interactions"]
    out = result.output_for_node("publication")
    assert out["status"] == "published"
    [gate] = [g for g in out["gates"] if g["name"] == "model_quality"]
    said = f"{seen['positive_interactions']} positive interactions from {seen['persons']} persons"
    assert gate["status"] == "warning" and said in gate["message"]
    assert {k: gate["figures"][k] for k in seen} == seen
    run_id = result.output_for_node("model_evaluation").run_id
    logged = MlflowClient(settings.mlflow_tracking_uri).get_run(run_id).data.metrics
    assert {k: logged[f"training/{k}"] for k in seen} == seen
    assert said in (Path(out["report_dir"]) / REPORT_NAME).read_text()
    status = render_status(settings)
    assert f"model_quality: no model (too little history to train: {said}" in status
    assert "WARNING" in status
