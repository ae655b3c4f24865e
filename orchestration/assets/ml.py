"""Assets of the recommender (group ``recommender``): thin wiring around ``ml``.

``training_dataset`` → ``model_evaluation`` (hold-out metrics of the model and every
baseline, and the recipe — epochs, blend weights — chosen on validation weeks; opens the
training's MLflow run) → ``recommender_model`` (the production model fitted once with that
recipe, logged into the same run and registered as challenger; ``None`` when there is too
little data). Evaluating first means the production fit needs no validation of its own,
and what is published is what was judged.
"""

import dagster as dg
import mlflow

from ml import tracking
from ml.data import MART_TABLES, Marts, load_marts
from ml.dataset import build_interactions
from ml.evaluate import PRIMARY_METRIC, REFERENCE_BASELINE, EvalConfig
from ml.model import Recommender
from ml.runs import evaluate_and_log, model_sizes, train_and_log
from ml.train import InsufficientData, Recipe, TrainConfig
from orchestration.resources import SkillpathResource
from skillpath.warehouse import connect

GROUP = "recommender"
# the dbt assets are keyed by folder and model name (``marts/fct_content_engagement``)
MART_KEYS = [dg.AssetKey(["marts", table]) for table in MART_TABLES.values()]


def _train_config(skillpath: SkillpathResource) -> TrainConfig:
    return TrainConfig(num_threads=skillpath.settings().config.training.threads)


@dg.asset(group_name=GROUP, deps=MART_KEYS)
def training_dataset(context: dg.AssetExecutionContext, skillpath: SkillpathResource) -> Marts:
    """The marts snapshot every recommender step reads (one read, one consistent view)."""
    with connect(skillpath.settings().warehouse, read_only=True) as con:
        marts = load_marts(con)
    interactions = build_interactions(marts)
    context.add_output_metadata(
        {
            "persons": len(marts.employees),
            "opted_out": int(marts.employees["opted_out"].astype(bool).sum()),
            "items": len(marts.content),
            "interactions": len(interactions),
            "positive_interactions": int((interactions["weight"] > 0).sum()),
        }
    )
    return marts


@dg.asset(group_name=GROUP)
def model_evaluation(
    context: dg.AssetExecutionContext, skillpath: SkillpathResource, training_dataset: Marts
) -> dict:
    """Hold-out metrics per approach and slice, plus ``beats_baseline``, ``mlflow_run_id``
    (the training's run) and ``recipe`` (what the production fit reuses); ``skipped``
    with the reason when the history is too thin to evaluate."""
    settings = skillpath.settings()
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    with tracking.start_run() as run:
        try:
            evaluation, recipe = evaluate_and_log(
                training_dataset, _train_config(skillpath), EvalConfig()
            )
        except InsufficientData as exc:
            mlflow.set_tag("evaluation", f"skipped: {exc}")
            context.add_output_metadata({"evaluated": False, "reason": str(exc)})
            return {"beats_baseline": False, "skipped": str(exc), "mlflow_run_id": run.info.run_id}
    figures = {
        PRIMARY_METRIC: evaluation.value(PRIMARY_METRIC),
        f"{PRIMARY_METRIC}__{REFERENCE_BASELINE}": evaluation.value(
            PRIMARY_METRIC, REFERENCE_BASELINE
        ),
        "precision_at_10_new_hires": evaluation.value("precision_at_10", slice_name="new_hires"),
        "gap_coverage": evaluation.value("gap_coverage"),
        "catalogue_coverage": evaluation.value("catalogue_coverage"),
    }
    context.add_output_metadata(
        {
            "evaluated": True,
            "beats_baseline": evaluation.beats_baseline,
            "holdout_persons": len(evaluation.holdout.persons),
            "mlflow_run_id": run.info.run_id,
            **{k: dg.MetadataValue.float(v) for k, v in figures.items()},
        }
    )
    return {
        **evaluation.as_dict(),
        "mlflow_run_id": run.info.run_id,
        "recipe": {"epochs": recipe.epochs, "weights": dict(recipe.weights)},
    }


@dg.asset(group_name=GROUP)
def recommender_model(
    context: dg.AssetExecutionContext,
    skillpath: SkillpathResource,
    training_dataset: Marts,
    model_evaluation: dict,
) -> Recommender | None:
    """LightFM trained on every consenting person's history with the evaluated recipe
    (validating on its own when evaluation was skipped), logged into the evaluation's
    run; ``None`` (with the reason in the metadata) when the history is too thin, so
    publishing falls back to rules."""
    settings = skillpath.settings()
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    recipe = Recipe(**model_evaluation["recipe"]) if "recipe" in model_evaluation else None
    try:
        model = train_and_log(
            training_dataset, _train_config(skillpath), recipe, model_evaluation["mlflow_run_id"]
        )
    except InsufficientData as exc:
        context.log.warning(str(exc))
        context.add_output_metadata({"trained": False, "reason": str(exc)})
        return None
    context.add_output_metadata(
        {
            "trained": True,
            "mlflow_run_id": model.run_id or "",
            "epochs": int(model.params["epochs_trained"]),
            "evaluated_recipe": recipe is not None,
            **{k: dg.MetadataValue.int(v) for k, v in model_sizes(model).items()},
        }
    )
    return model
