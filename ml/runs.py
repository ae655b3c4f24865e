"""A whole training run as the CLI, tuning and Dagster share it: evaluate against the
baselines on the hold-out, train the production model on everything, log both to MLflow.

Too little data is an outcome, not a crash: the result says why, carries no model, and
publishing falls back to rules (role paths).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np

from ml import tracking
from ml.data import Marts
from ml.evaluate import EvalConfig, Evaluation, evaluate_model
from ml.model import Recommender
from ml.train import InsufficientData, Recipe, TrainConfig, recipe_of, train_on_all

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingResult:
    model: Recommender | None
    evaluation: Evaluation | None
    run_id: str | None
    message: str


def holdout_sizes(evaluation: Evaluation) -> dict[str, int]:
    h = evaluation.holdout
    return {
        "holdout_persons": len(h.persons),
        "holdout_positives": int(h.positives.nnz),
        "history_interactions": len(h.split.history),
        # a slice under the reporting minimum is dropped from ``slices``: count it as 0
        "new_hire_persons": int(np.sum(h.slices.get("new_hires", 0))),
        **h.removed,
    }


def model_sizes(model: Recommender) -> dict[str, int]:
    keys = ("n_interactions", "n_persons", "n_items", "n_user_features", "n_item_features")
    return {k: int(model.params[k]) for k in keys}


def evaluate_and_log(
    marts: Marts, train_config: TrainConfig, eval_config: EvalConfig
) -> tuple[Evaluation, Recipe]:
    """Hold-out evaluation of ``train_config`` and its baselines, logged in the active run,
    and the recipe (epochs, blend weights) the production model is then fitted with."""
    evaluated, evaluation = evaluate_model(marts, train_config, eval_config)
    tracking.log_evaluation(evaluation, holdout_sizes(evaluation))
    return evaluation, recipe_of(evaluated)


def train_and_log(
    marts: Marts,
    train_config: TrainConfig,
    recipe: Recipe | None,
    run_id: str,
    register: bool = True,
) -> Recommender:
    """The production model (``recipe``: the evaluated one; None: validate on its own),
    logged into the training's run ``run_id``. Raises ``InsufficientData``."""
    model = train_on_all(marts, train_config, recipe)
    return tracking.log_model(model, model_sizes(model), register=register, run_id=run_id)


def run_training(
    marts: Marts,
    train_config: TrainConfig,
    eval_config: EvalConfig,
    tracking_uri: str,
    artifact_root: Path,
    register: bool = True,
) -> TrainingResult:
    """Evaluate first, then train the production model with the evaluated recipe (epochs
    and blend weights chosen on validation weeks before the hold-out): what is published
    is what was judged, and the production fit skips a second validation (half the time).
    When the hold-out is too thin to evaluate, production validates on its own. Both go
    into one MLflow run (the Dagster assets ``model_evaluation`` → ``recommender_model``
    do the same in two steps)."""
    tracking.configure(tracking_uri, artifact_root)
    evaluation: Evaluation | None = None
    recipe: Recipe | None = None
    with tracking.start_run() as run:
        try:
            evaluation, recipe = evaluate_and_log(marts, train_config, eval_config)
        except InsufficientData as exc:
            mlflow.set_tag("evaluation", f"skipped: {exc}")
    try:
        model = train_and_log(marts, train_config, recipe, run.info.run_id, register)
    except InsufficientData as exc:
        with tracking.resume(run.info.run_id):
            mlflow.set_tag("status", "insufficient_data")
            mlflow.set_tag("reason", str(exc))
        log.warning("%s", exc)
        return TrainingResult(None, None, None, str(exc))
    message = (
        "trained; hold-out too thin to evaluate"
        if evaluation is None
        else f"trained; beats role popularity: {evaluation.beats_baseline}"
    )
    return TrainingResult(model, evaluation, model.run_id, message)
