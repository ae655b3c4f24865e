"""A small random search (``skillpath tune``), one nested MLflow run per trial under a
parent run, so the trials line up side by side in the UI and the parent records the best.

Trials are judged like every training run, on the published lists' NDCG@10, but on the
per-person hold-out alone and without vanilla LightFM (``TUNING_EVAL``: a trial costs one
evaluation model, not two plus three reference fits); they are logged but not
registered — promotion stays a deliberate step.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np

from ml.data import Marts
from ml.evaluate import PER_PERSON, PRIMARY_METRIC, EvalConfig
from ml.runs import run_training
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


def tune(
    marts: Marts,
    trials: int,
    tracking_uri: str,
    artifact_root: Path,
    base: TrainConfig | None = None,
    eval_config: EvalConfig | None = None,
) -> tuple[TrainConfig | None, float]:
    """Best configuration and its hold-out NDCG@10 (None when no trial could train)."""
    base = base or TrainConfig()
    eval_config = eval_config or TUNING_EVAL
    best: tuple[TrainConfig | None, float] = (None, float("-inf"))
    from ml.tracking import configure

    configure(tracking_uri, artifact_root)
    with mlflow.start_run(run_name=f"tune-{trials}"):
        for i, config in enumerate(sample_configs(base, trials, base.seed)):
            result = run_training(
                marts, config, eval_config, tracking_uri, artifact_root, register=False
            )
            if result.evaluation is None:
                log.warning("trial %d: %s", i, result.message)
                continue
            score = result.evaluation.value(PRIMARY_METRIC)
            log.info("trial %d: %s = %.4f", i, PRIMARY_METRIC, score)
            if score > best[1]:
                best = (config, score)
        if best[0] is not None:
            mlflow.log_params({f"best.{k}": v for k, v in best[0].as_params().items()})
            mlflow.log_metric(f"best_{PRIMARY_METRIC}", best[1])
    return best
