"""Assets of the recommender (group ``recommender``): thin wiring around ``ml``.

``training_dataset`` → ``recommender_model`` (the production model, logged to MLflow and
registered as challenger; ``None`` when there is too little data) → ``model_evaluation``
(hold-out metrics of the model and every baseline, logged to the same MLflow run).
"""

import dagster as dg

from ml import tracking
from ml.data import MART_TABLES, Marts, load_marts
from ml.dataset import build_interactions
from ml.evaluate import PRIMARY_METRIC, REFERENCE_BASELINE, EvalConfig
from ml.model import Recommender
from ml.runs import evaluate_and_log, model_sizes
from ml.train import InsufficientData, TrainConfig, train_on_all
from orchestration.resources import SkillpathResource
from skillpath.warehouse import connect

GROUP = "recommender"
# the dbt assets are keyed by folder and model name (``marts/fct_content_engagement``)
MART_KEYS = [dg.AssetKey(["marts", table]) for table in MART_TABLES.values()]


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
def recommender_model(
    context: dg.AssetExecutionContext, skillpath: SkillpathResource, training_dataset: Marts
) -> Recommender | None:
    """LightFM trained on every consenting person's history; ``None`` (with the reason
    in the metadata) when the history is too thin, so publishing falls back to rules."""
    settings = skillpath.settings()
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    try:
        model = train_on_all(training_dataset, TrainConfig())
    except InsufficientData as exc:
        context.log.warning(str(exc))
        context.add_output_metadata({"trained": False, "reason": str(exc)})
        return None
    model = tracking.log_model(model, model_sizes(model))
    context.add_output_metadata(
        {
            "trained": True,
            "mlflow_run_id": model.run_id or "",
            "epochs": int(model.params["epochs_trained"]),
            **{k: dg.MetadataValue.int(v) for k, v in model_sizes(model).items()},
        }
    )
    return model


@dg.asset(group_name=GROUP)
def model_evaluation(
    context: dg.AssetExecutionContext,
    training_dataset: Marts,
    recommender_model: Recommender | None,
) -> dict:
    """Hold-out metrics per approach and slice, plus ``beats_baseline``."""
    if recommender_model is None or recommender_model.run_id is None:
        reason = "no model was trained (too little data)"
        context.add_output_metadata({"evaluated": False, "reason": reason})
        return {"beats_baseline": False, "skipped": reason}
    with tracking.resume(recommender_model.run_id):
        try:
            evaluation = evaluate_and_log(training_dataset, TrainConfig(), EvalConfig())
        except InsufficientData as exc:
            context.add_output_metadata({"evaluated": False, "reason": str(exc)})
            return {"beats_baseline": False, "skipped": str(exc)}
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
            **{k: dg.MetadataValue.float(v) for k, v in figures.items()},
        }
    )
    return evaluation.as_dict()
