"""A whole training run as the CLI, tuning and Dagster share it: evaluate against the
baselines on the hold-out, train the production model on everything, log both to MLflow.

Too little data is an outcome, not a crash: the result says why, carries no model, and
publishing falls back to rules (role paths).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from ml import tracking
from ml.data import Marts
from ml.evaluate import PRIMARY_METRIC, EvalConfig, ModelEvaluation, evaluate_model
from ml.model import Recommender
from ml.train import InsufficientData, Recipe, TrainConfig, recipe_of, train_on_all

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvaluationOutcome:
    """What the evaluation step hands on: the figures (``evaluation``, None when the
    history was too thin to evaluate, with the reason in ``skipped``) and the control
    data — the recipe the production model is fitted with and the training's MLflow run."""

    evaluation: ModelEvaluation | None
    recipe: Recipe | None
    run_id: str | None
    skipped: str | None = None


@dataclass(frozen=True)
class TrainingResult:
    model: Recommender | None
    outcome: EvaluationOutcome
    message: str

    @property
    def evaluation(self) -> ModelEvaluation | None:
        return self.outcome.evaluation

    @property
    def run_id(self) -> str | None:
        """The MLflow run of the trained model (None when nothing could be trained)."""
        return self.model.run_id if self.model is not None else None


def model_sizes(model: Recommender) -> dict[str, int]:
    keys = ("n_interactions", "n_persons", "n_items", "n_user_features", "n_item_features")
    return {k: int(model.params[k]) for k in keys}


def training_run_name(marts: Marts, kind: str = "train", detail: str = "") -> str:
    """``train 2026-12-05 · 1,000 persons``."""
    return tracking.run_name(kind, len(marts.employees), detail)


TRAINING_NOTE = (
    "**Training run** of the skillpath recommender: the model and its baselines evaluated "
    "on hold-outs of the history, then the production model fitted on every consenting "
    "person's history with the evaluated recipe."
)


def evaluate_and_log(
    marts: Marts, train_config: TrainConfig, eval_config: EvalConfig
) -> tuple[ModelEvaluation, Recipe]:
    """Hold-out evaluation of ``train_config`` and every other approach on each protocol,
    logged in the active run (aggregates only, one child run per approach), and the recipe
    (epochs, blend weights) of the gate protocol's model, which the production model is
    then fitted with."""
    evaluated, evaluation = evaluate_model(marts, train_config, eval_config)
    tracking.log_evaluation(evaluation, summary_line(evaluation))
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
    recipe_from = "the evaluation's history (its gate protocol)" if recipe is not None else ""
    return tracking.log_model(model, model_sizes(model), register, run_id, recipe_from)


def run_training(
    marts: Marts,
    train_config: TrainConfig,
    eval_config: EvalConfig,
    tracking_uri: str,
    artifact_root: Path,
    register: bool = True,
    name: str | None = None,
) -> TrainingResult:
    """Evaluate first, then train the production model with the evaluated recipe (epochs
    and blend weights chosen on validation inside the history): what is published is
    what was judged, and the production fit skips a second validation (half the time).
    When the hold-out is too thin to evaluate, production validates on its own. Both go
    into one MLflow run (the Dagster assets ``model_evaluation`` → ``recommender_model``
    do the same in two steps). ``name``: the run's name (default: ``training_run_name``)."""
    tracking.configure(tracking_uri, artifact_root)
    with tracking.start_run(name or training_run_name(marts), TRAINING_NOTE) as run:
        try:
            evaluation, recipe = evaluate_and_log(marts, train_config, eval_config)
            outcome = EvaluationOutcome(evaluation, recipe, run.info.run_id)
        except InsufficientData as exc:
            tracking.note_skipped(run.info.run_id, str(exc))
            outcome = EvaluationOutcome(None, None, run.info.run_id, str(exc))
    try:
        model = train_and_log(marts, train_config, outcome.recipe, run.info.run_id, register)
    except InsufficientData as exc:
        tracking.note_insufficient(run.info.run_id, exc)
        log.warning("%s", exc)
        return TrainingResult(None, outcome, str(exc))
    message = (
        "trained; hold-out too thin to evaluate"
        if outcome.evaluation is None
        else "trained and evaluated: " + summary_line(outcome.evaluation)
    )
    return TrainingResult(model, outcome, message)


def summary_line(evaluation: ModelEvaluation) -> str:
    """Published NDCG@10 of the model vs the popularity baselines (gate protocol)."""
    v = evaluation.value
    return (
        f"published {PRIMARY_METRIC} ({evaluation.gate_protocol} hold-out): model "
        f"{v(PRIMARY_METRIC):.4f}, global popularity "
        f"{v(PRIMARY_METRIC, 'global_popularity'):.4f}, role popularity "
        f"{v(PRIMARY_METRIC, 'role_popularity'):.4f}"
    )
