"""A small random search (``skillpath tune``), one nested MLflow run per trial under a
parent run, so the trials line up side by side in the UI and the parent records the best.

Trials are judged like every training run, on the published lists' NDCG@10, but on the
per-person hold-out alone and without vanilla LightFM (``TUNING_EVAL``: a trial costs one
evaluation model, not two plus three reference fits); they are logged but not
registered — promotion stays a deliberate step: ``skillpath tune --apply`` writes the
best trial's values (``Tuning.changed``) into a configuration file for the next run, and
the tuning's parent run records where (lineage: ``ml.tracking.record_tuning``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import mlflow
import numpy as np

from ml import tracking
from ml.data import Marts
from ml.evaluate import PER_PERSON, PRIMARY_METRIC, EvalConfig
from ml.runs import run_training, training_run_name
from ml.train import TrainConfig
from ml.vanilla import VanillaConfig

log = logging.getLogger(__name__)

TUNING_EVAL = EvalConfig(
    protocols=(PER_PERSON,), gate_protocol=PER_PERSON, vanilla=VanillaConfig(seeds=())
)
SPACE: dict[str, tuple[object, ...]] = {
    "no_components": (16, 32, 64),
    "learning_rate": (0.02, 0.05, 0.1),
    "item_alpha": (0.0, 1e-6, 1e-5),
    "user_alpha": (0.0, 1e-6, 1e-5),
    "max_sampled": (10, 30),
}


def sample_configs(base: TrainConfig, trials: int, seed: int) -> list[TrainConfig]:
    """The base configuration first, then random draws from ``SPACE``."""
    rng = np.random.default_rng(seed)
    draws = [
        replace(base, **{k: v[int(rng.integers(len(v)))] for k, v in SPACE.items()})  # type: ignore[arg-type]
        for _ in range(max(trials - 1, 0))
    ]
    return [base, *draws][:trials]


@dataclass(frozen=True)
class Tuning:
    """The outcome of a search: the best configuration (None: no trial could train), its
    hold-out score, the parent run, and the hyper-parameters where it differs from the
    base configuration (empty: the base was best)."""

    best: TrainConfig | None
    score: float
    run_id: str
    changed: dict[str, object] = field(default_factory=dict)


def changes(base: TrainConfig, config: TrainConfig) -> dict[str, object]:
    """The searched hyper-parameters ``config`` sets differently from ``base``."""
    return {k: getattr(config, k) for k in SPACE if getattr(config, k) != getattr(base, k)}


def _trial_name(i: int, trials: int, base: TrainConfig, config: TrainConfig) -> str:
    changed = changes(base, config)
    what = ", ".join(f"{k}={v}" for k, v in changed.items()) or "the current configuration"
    return f"trial {i + 1}/{trials} · {what}"


TUNING_NOTE = (
    "**Tuning run**: a random search over LightFM's hyper-parameters; each child run is "
    "one trial, judged like a training run on the per-person hold-out's published "
    "NDCG@10 (`per_person.published/ndcg_at_10`). The first trial is the current "
    "configuration. Sort the children by that metric, or select them and open the chart "
    "view. Nothing is registered: `skillpath tune --apply` turns the best trial into the "
    "configuration of the next run."
)


def tune(
    marts: Marts,
    trials: int,
    tracking_uri: str,
    artifact_root: Path,
    base: TrainConfig | None = None,
    eval_config: EvalConfig | None = None,
) -> Tuning:
    """The best configuration, its hold-out NDCG@10 and the parent run."""
    base = base or TrainConfig()
    eval_config = eval_config or TUNING_EVAL
    best: tuple[TrainConfig | None, float, str] = (None, float("-inf"), "")
    tracking.configure(tracking_uri, artifact_root)
    name = training_run_name(marts, "tune", f"{trials} trials")
    with tracking.start_run(name, TUNING_NOTE) as parent:
        for i, config in enumerate(sample_configs(base, trials, base.seed)):
            result = run_training(
                marts,
                config,
                eval_config,
                tracking_uri,
                artifact_root,
                register=False,
                name=_trial_name(i, trials, base, config),
            )
            if result.evaluation is None:
                log.warning("trial %d: %s", i, result.message)
                continue
            score = result.evaluation.value(PRIMARY_METRIC)
            log.info("trial %d: %s = %.4f", i, PRIMARY_METRIC, score)
            if score > best[1]:
                best = (config, score, result.outcome.run_id or "")
        config, score, trial_run = best
        if config is not None:
            mlflow.log_params({f"best.{k}": v for k, v in config.as_params().items()})
            mlflow.log_metric(f"best/{PRIMARY_METRIC}", score)
            mlflow.set_tag("best_trial_run_id", trial_run)
            changed = changes(base, config)
            tracking.append_note(
                parent.info.run_id,
                f"**Best trial**: `{trial_run}`, {PRIMARY_METRIC} {score:.4f}; it changes "
                + (", ".join(f"`{k}` to {v}" for k, v in changed.items()) or "nothing"),
            )
    if config is None:
        return Tuning(None, float("nan"), parent.info.run_id)
    return Tuning(config, score, parent.info.run_id, changes(base, config))
