"""Validation by persons: which part of the training history the recipe (epochs, λ,
blend weights: ml.train) is chosen on, and when there is too little to choose on.

Each validation person's latest ``share`` of positives is held back
(``ml.dataset.per_person_split``: the evaluation's per-person protocol one level down);
everything else trains. Why persons and not the latest weeks: a window of weeks can be
empty (an export with a quiet last month), and early stopping on it then stopped at once
and the model underfitted without a word (issue #16: 5 epochs, no validation person).

The values are configuration (``[training.validation]`` in skillpath/config.toml, with the
reason for each); the defaults here are the shipped ones (a test keeps them equal), so
``ml`` stays usable without skillpath.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ml.dataset import Cutoffs, TemporalSplit, per_person_split


@dataclass(frozen=True)
class ValidationConfig:
    share: float = 0.2  # each validation person's latest share of positives held back
    min_positives: int = 5  # positives a person needs to be a validation person
    max_persons: int = 5000  # validation persons at most (drawn with the seed)
    min_persons: int = 30  # fewer: validation cannot decide (fallback, flagged)
    fallback_epochs: int = 30  # LightFM epochs when validation cannot decide


def validation_split(history: pd.DataFrame, config: ValidationConfig, seed: int) -> TemporalSplit:
    """The per-person split of at most ``max_persons`` qualifying persons (drawn with
    ``seed``, so validation costs the same at 100,000 employees); everyone else's history
    trains whole. No qualifying person: an empty hold-out."""
    positives = history[history["is_positive"]]
    counts = positives.groupby("person_key")["content_id"].size()
    qualifying = np.sort(counts.index[counts >= config.min_positives].astype(str))
    if not len(qualifying):
        return TemporalSplit(history, history.iloc[0:0], Cutoffs(history["first_event_at"].max()))
    if len(qualifying) > config.max_persons:
        rng = np.random.default_rng(seed)
        qualifying = np.sort(rng.choice(qualifying, config.max_persons, replace=False))
    chosen = history["person_key"].isin(qualifying)
    split = per_person_split(history[chosen], config.share, config.min_positives)
    rest = history[~chosen]
    return replace(split, history=pd.concat([split.history, rest], ignore_index=True))
