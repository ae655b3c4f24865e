"""Assets of the recommender (group ``recommender``): thin wiring around ``ml``.

``training_dataset`` → ``model_evaluation`` (``ml.runs.EvaluationOutcome``: hold-out
figures of the model and every baseline, raw and as published lists, on each protocol,
and the recipe — epochs, blend weights — chosen on validation; opens the training's
MLflow run) → ``recommender_model`` (the production model fitted once with that
recipe, logged into the same run and registered as challenger; ``None`` when there is too
little data). Evaluating first means the production fit needs no validation of its own,
and what is published is what was judged.
"""

import dataclasses

import dagster as dg

from ml import tracking
from ml.data import MART_TABLES, Marts, load_marts
from ml.dataset import build_interactions
from ml.evaluate import MODEL, POPULARITY, RAW, VANILLA, EvalConfig
from ml.runs import (
    TRAINING_NOTE,
    EvaluationOutcome,
    evaluate_and_log,
    model_sizes,
    train_and_log,
    training_run_name,
)
from ml.train import InsufficientData, NoModel, TrainConfig
from ml.validation import ValidationConfig
from ml.vanilla import VanillaConfig
from orchestration.resources import SkillpathResource
from orchestration.run_config import TrainingRunConfig
from skillpath.config import Config
from skillpath.warehouse import connect

GROUP = "recommender"
# the dbt assets are keyed by folder and model name (``marts/fct_content_engagement``)
MART_KEYS = [dg.AssetKey(["marts", table]) for table in MART_TABLES.values()]


def train_config(config: Config) -> TrainConfig:
    """``[training]`` as ``ml``'s configuration (the CLI's tuning starts from it too)."""
    t = config.training
    return TrainConfig(
        no_components=t.no_components,
        learning_rate=t.learning_rate,
        item_alpha=t.item_alpha,
        user_alpha=t.user_alpha,
        max_sampled=t.max_sampled,
        num_threads=t.threads,
        validation=ValidationConfig(**dataclasses.asdict(t.validation)),
    )


def _train_config(skillpath: SkillpathResource) -> TrainConfig:
    return train_config(skillpath.settings().config)


def _eval_config(skillpath: SkillpathResource) -> EvalConfig:
    e = skillpath.settings().config.evaluation
    return EvalConfig(
        protocols=e.protocols,
        gate_protocol=e.gate_protocol,
        holdout_weeks=e.holdout_weeks,
        holdout_share=e.holdout_share,
        min_positives=e.min_positives,
        vanilla=VanillaConfig(seeds=e.vanilla_seeds),
    )


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
    context: dg.AssetExecutionContext,
    skillpath: SkillpathResource,
    training_dataset: Marts,
    config: TrainingRunConfig,
) -> EvaluationOutcome:
    """Hold-out figures of the model and every other approach, raw and as published
    lists, on each protocol (``evaluation``), with the control data beside them: the
    recipe the production fit reuses, the training's MLflow run, and ``skipped`` with the
    reason when the history is too thin to evaluate."""
    settings = skillpath.settings()
    train = config.apply(_train_config(skillpath))
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    with tracking.start_run(training_run_name(training_dataset), TRAINING_NOTE) as run:
        tracking.record_tuning(run.info.run_id, settings.config.training.tuned_by)
        try:
            evaluation, recipe = evaluate_and_log(training_dataset, train, _eval_config(skillpath))
        except InsufficientData as exc:
            tracking.note_skipped(run.info.run_id, str(exc))
            context.add_output_metadata({"evaluated": False, "reason": str(exc)})
            return EvaluationOutcome(None, None, run.info.run_id, str(exc))
    v = evaluation.value
    figures = {
        f"published_{metric}{'' if approach == MODEL else '__' + approach}": v(metric, approach)
        for metric in ("ndcg_at_10", "precision_at_10")
        for approach in (MODEL, *POPULARITY, VANILLA)
    }
    figures["raw_ndcg_at_10"] = v("ndcg_at_10", stage=RAW)
    figures["published_catalogue_coverage"] = v("catalogue_coverage")
    figures["published_exposure_gini"] = v("exposure_gini")
    context.add_output_metadata(
        {
            "evaluated": True,
            "gate_protocol": evaluation.gate_protocol,
            "holdout_persons": evaluation.gate.counts["persons"],
            "mlflow_run_id": run.info.run_id,
            **{k: dg.MetadataValue.float(x) for k, x in figures.items()},
        }
    )
    return EvaluationOutcome(evaluation, recipe, run.info.run_id)


@dg.asset(group_name=GROUP)
def recommender_model(
    context: dg.AssetExecutionContext,
    skillpath: SkillpathResource,
    training_dataset: Marts,
    model_evaluation: EvaluationOutcome,
    config: TrainingRunConfig,
) -> object:  # Recommender | NoModel (Dagster types no unions)
    """LightFM trained on every consenting person's history with the evaluated recipe
    (validating on its own when evaluation was skipped), logged into the evaluation's
    run; ``NoModel`` (the reason and the figures, also in the run) when the history is
    too thin, so publishing falls back to rules and says why with the same numbers."""
    settings = skillpath.settings()
    train = config.apply(_train_config(skillpath))
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    recipe = model_evaluation.recipe
    try:
        model = train_and_log(training_dataset, train, recipe, model_evaluation.run_id)
    except InsufficientData as exc:
        context.log.warning(str(exc))
        tracking.note_insufficient(model_evaluation.run_id, exc)
        context.add_output_metadata({"trained": False, "reason": str(exc), **exc.figures})
        return NoModel(str(exc), exc.figures)
    context.add_output_metadata(
        {
            "trained": True,
            "mlflow_run_id": model.run_id or "",
            "epochs": int(model.params["epochs_trained"]),
            "evaluated_recipe": recipe is not None,
            "validation_fallback": str(model.params["validation_fallback"]),
            **{k: dg.MetadataValue.int(v) for k, v in model_sizes(model).items()},
        }
    )
    return model
