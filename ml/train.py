"""Fitting LightFM on the interactions, with early stopping on the latest weeks.

Determinism: LightFM draws its initial weights and its SGD sampling from
``random_state``; with ``num_threads=1`` two fits with the same seed and data give
identical weights (tested). With more threads the Hogwild updates race, so results vary
slightly between runs: use one thread when a run must be reproduced exactly.

Early stopping: the last ``validation_weeks`` of the training period are held back,
the model is fitted epoch by epoch on the rest and scored on them (NDCG@k); the epoch
count that scored best is then used to refit from scratch on the whole training period,
so the most recent weeks — the most relevant for the next recommendations — are learned.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from lightfm import LightFM

from ml.data import Marts
from ml.dataset import as_of, build_interactions, temporal_split, to_matrix
from ml.features import FeatureConfig, FeatureSpace
from ml.metrics import per_person
from ml.model import Recommender, Representations, score_matrix

log = logging.getLogger(__name__)


class InsufficientData(ValueError):
    """Too little history to learn from; callers fall back to rules (role paths)."""


@dataclass(frozen=True)
class TrainConfig:
    loss: Literal["warp", "bpr", "logistic", "warp-kos"] = "warp"
    no_components: int = 32
    learning_rate: float = 0.05
    epochs: int = 100  # the most epochs; early stopping usually stops sooner
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 10
    num_threads: int = 1
    seed: int = 42
    validation_weeks: int = 4
    patience: int = 5
    k: int = 10
    min_interactions: int = 200
    min_persons: int = 20
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def as_params(self) -> dict[str, object]:
        """Flat parameters for MLflow (feature settings prefixed ``features.``)."""
        params = {k: v for k, v in asdict(self).items() if k != "features"}
        params.update({f"features.{k}": v for k, v in asdict(self.features).items()})
        return params


def check_enough(history: pd.DataFrame, config: TrainConfig) -> None:
    positives = history[history["weight"] > 0]
    persons = positives["person_key"].nunique()
    if len(positives) < config.min_interactions or persons < config.min_persons:
        raise InsufficientData(
            f"too little history to train: {len(positives)} positive interactions from "
            f"{persons} persons (need at least {config.min_interactions} from "
            f"{config.min_persons}); recommendations fall back to role paths"
        )


def _new_model(config: TrainConfig) -> LightFM:
    return LightFM(
        no_components=config.no_components,
        loss=config.loss,
        learning_rate=config.learning_rate,
        item_alpha=config.item_alpha,
        user_alpha=config.user_alpha,
        max_sampled=config.max_sampled,
        random_state=np.random.RandomState(config.seed),
    )


@dataclass(frozen=True)
class _Problem:
    """Matrices of one fit: persons × items interactions and both feature matrices."""

    persons: pd.Index
    items: pd.Index
    user_features: object
    item_features: object
    interactions: object
    weights: object

    @classmethod
    def build(
        cls, space: FeatureSpace, marts: Marts, history: pd.DataFrame, items: pd.Index
    ) -> _Problem:
        persons = pd.Index(
            marts.employees.loc[~marts.employees["opted_out"].astype(bool), "person_key"].astype(
                str
            ),
            dtype=object,
        )
        positives = history[history["weight"] > 0]
        weights = to_matrix(positives, persons, items, "weight").tocoo()
        ones = weights.copy()
        ones.data = np.ones_like(ones.data)
        return cls(
            persons=persons,
            items=items,
            user_features=space.user_matrix(marts, history, persons),
            item_features=space.item_matrix(marts, items),
            interactions=ones,
            weights=weights,
        )

    def fit_epoch(self, model: LightFM, config: TrainConfig) -> None:
        model.fit_partial(
            self.interactions,
            user_features=self.user_features,
            item_features=self.item_features,
            sample_weight=self.weights if config.loss != "warp-kos" else None,
            epochs=1,
            num_threads=config.num_threads,
        )


def _best_epochs(
    space: FeatureSpace, marts: Marts, history: pd.DataFrame, items: pd.Index, config: TrainConfig
) -> tuple[int, list[float]]:
    """Epoch count with the best validation NDCG@k, and the curve (for MLflow)."""
    try:
        split = temporal_split(history, config.validation_weeks)
    except ValueError:
        return config.epochs, []
    if split.holdout.empty or split.history[split.history["weight"] > 0].empty:
        log.info(
            "no validation positives in the last %d weeks: fixed epochs", config.validation_weeks
        )
        return config.epochs, []
    problem = _Problem.build(space, as_of(marts, split.cutoff), split.history, items)
    val_persons = pd.Index(split.holdout["person_key"].unique(), dtype=object)
    positives = to_matrix(split.holdout, val_persons, items)
    seen = to_matrix(split.history, val_persons, items)
    user_rows = problem.persons.get_indexer(val_persons)
    keep = user_rows >= 0
    model = _new_model(config)
    curve: list[float] = []
    best, best_epoch = -1.0, config.epochs
    for epoch in range(1, config.epochs + 1):
        problem.fit_epoch(model, config)
        users = Representations.of_users(model, problem.user_features[user_rows[keep]])
        item_reps = Representations.of_items(model, problem.item_features)
        values, _ = per_person(
            score_matrix(users, item_reps), positives[keep], seen[keep], config.k
        )
        ndcg = float(values[f"ndcg_at_{config.k}"].mean())
        curve.append(ndcg)
        if ndcg > best:
            best, best_epoch = ndcg, epoch
        elif epoch - best_epoch >= config.patience:
            break
    return best_epoch, curve


def train(marts: Marts, history: pd.DataFrame, config: TrainConfig) -> Recommender:
    """Fit on ``history`` (interactions before some cutoff; see ml.dataset) with the
    features of ``marts`` (which must not know more than the cutoff), bound to ``marts``."""
    check_enough(history, config)
    space = FeatureSpace.fit(marts, history, config.features)
    items = pd.Index(marts.content["content_id"].astype(str), dtype=object)
    epochs, curve = _best_epochs(space, marts, history, items, config)
    problem = _Problem.build(space, marts, history, items)
    model = _new_model(config)
    for _ in range(epochs):
        problem.fit_epoch(model, config)
    log.info("trained %d epochs on %d interactions", epochs, problem.interactions.nnz)
    params = {
        **config.as_params(),
        "epochs_trained": epochs,
        "validation_curve": curve,
        "n_interactions": int(problem.interactions.nnz),
        "n_persons": len(problem.persons),
        "n_items": len(items),
        "n_user_features": len(space.user_vocab),
        "n_item_features": len(space.item_vocab),
    }
    return Recommender(model=model, features=space, params=params).bind(marts, history)


def train_on_all(marts: Marts, config: TrainConfig) -> Recommender:
    """The production model: every consenting person's history, bound to ``marts``."""
    return train(marts, build_interactions(marts), config)
