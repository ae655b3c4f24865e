"""Vanilla LightFM: the reference any learned recommender should beat on its own data.

``LightFM(loss='warp', no_components=30, learning_rate=0.05)`` with identity features
only (no role, skill or content metadata), 30 epochs, one thread, on the same history as
the model (every interaction with a positive weight, as binary; mandatory content left
out as for every approach). It is what a data scientist would try first on an
interaction log, so a product that needs HR and skill data must at least match it.
Results vary with the seed, so the evaluation reports the mean over several seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from lightfm import LightFM

from ml.dataset import to_matrix
from ml.model import Representations, score_matrix


@dataclass(frozen=True)
class VanillaConfig:
    seeds: tuple[int, ...] = (1, 2, 3)  # the evaluation reports the mean over these
    no_components: int = 30
    learning_rate: float = 0.05
    epochs: int = 30


@dataclass(frozen=True)
class VanillaLightFM:
    """A ``Scorer`` (docs/architecture.md); persons outside training get item biases."""

    item_ids: np.ndarray
    users: Representations
    items: Representations
    person_row: pd.Series

    def score(self, person_keys: Sequence[str]) -> np.ndarray:
        found = self.person_row.reindex(pd.Index(person_keys, dtype=object)).to_numpy(float)
        unknown = np.isnan(found)
        rows = np.where(unknown, 0, found).astype(np.int64)
        emb, bias = self.users.embedding[rows], self.users.bias[rows]
        emb[unknown], bias[unknown] = 0.0, 0.0
        return score_matrix(Representations(bias, emb), self.items)


def fit_vanilla(
    history: pd.DataFrame, persons: pd.Index, items: pd.Index, config: VanillaConfig, seed: int
) -> VanillaLightFM:
    """Fit on ``history`` (rows with a positive weight) for ``persons`` × ``items``."""
    interactions = to_matrix(history[history["weight"] > 0], persons, items).tocoo()
    interactions.data[:] = 1.0
    model = LightFM(
        loss="warp",
        no_components=config.no_components,
        learning_rate=config.learning_rate,
        random_state=np.random.RandomState(seed),
    )
    model.fit(interactions, epochs=config.epochs, num_threads=1)
    return VanillaLightFM(
        item_ids=items.to_numpy(dtype=object),
        users=Representations(
            model.user_biases.astype(np.float32), model.user_embeddings.astype(np.float32)
        ),
        items=Representations(
            model.item_biases.astype(np.float32), model.item_embeddings.astype(np.float32)
        ),
        person_row=pd.Series(np.arange(len(persons)), index=persons),
    )
