"""A person's own signal without a per-person parameter: item-item weights (EASE).

EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data") learns one
items × items matrix ``B`` so that a person's history row ``x`` reconstructs itself:
``min ‖X − XB‖² + λ‖B‖²`` subject to ``diag(B) = 0``, with the closed form
``P = (XᵀX + λI)⁻¹``, ``B_ij = −P_ij / P_jj``, ``B_jj = 0``. A person's scores are
``x·B``, computed when they are scored from the history they have then.

Why this representation (ml/README.md, "A person's own signal", has the figures):

- it is personal — two colleagues in the same role with different histories get
  different lists, which features alone (role, department, skills) cannot do;
- the stored model holds item weights only: a person is nothing but the history row fed
  in at scoring time, so there is nothing about anyone to erase from MLflow, and a
  person's erased or opted-out history simply stops being fed in;
- the zero diagonal is the constraint that an item never predicts itself: the model
  cannot learn "took X → X", the leak that made history tokens (``did:<item>`` features
  learned together with the interactions they encode) overfit;
- it has one hyper-parameter (``λ``, chosen on validation persons: ml.train) and no
  SGD, so it is deterministic and cannot underfit for lack of epochs;
- a person without history gets zero item-item scores, and the blend (ml.model) ranks
  them by their features and the rules: new hires fall back to what is known of them.

Cost: the Gram matrix and its inverse are dense in the number of items taken at least
once (``max_items`` most-taken kept): 8 bytes × n² per copy (n = 3,600, the catalogue
of a 100,000-person sample organisation: 100 MiB); scoring is a sparse × dense product
per chunk of persons.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.dataset import to_matrix

# λ candidates, as multiples of the mean number of persons per taken item (the scale of
# XᵀX's diagonal), so the same grid suits 1,000 and 100,000 persons; ml.train picks one
L2_SCALES = (0.5, 2.0, 8.0, 32.0, 128.0)
FALLBACK_L2_SCALE = 8.0  # the grid's middle, when there is no validation to choose on


def history_matrix(history: pd.DataFrame, persons: pd.Index, items: pd.Index) -> sp.csr_matrix:
    """Binary (persons × items): the person had a positive interaction (weight > 0) with
    the item. Binary rather than weighted: a started-and-liked item says "this is my
    kind of content" whatever the completion state (on the sample organisation and the
    taste regimes weighted inputs ranked no better)."""
    positives = history[history["weight"] > 0]
    matrix = to_matrix(positives, persons, items)
    matrix.data[:] = 1.0
    return matrix


def item_columns(history: pd.DataFrame, max_items: int) -> pd.Index:
    """content_ids with at least one positive, the ``max_items`` most-taken (ties by id):
    the items whose weights are learned; the rest score 0 (no item-item evidence)."""
    positives = history[history["weight"] > 0]
    takers = positives.groupby("content_id")["person_key"].nunique()
    ranked = takers.reset_index().sort_values(["person_key", "content_id"], ascending=[False, True])
    return pd.Index(sorted(ranked["content_id"].head(max_items).astype(str)), dtype=object)


def gram(history: pd.DataFrame, items: pd.Index) -> np.ndarray:
    """XᵀX (float64, items × items) over the persons of ``history``."""
    persons = pd.Index(history["person_key"].astype(str).unique(), dtype=object)
    x = history_matrix(history, persons, items).astype(np.float64)
    return np.asarray((x.T @ x).toarray())


def l2_grid(g: np.ndarray, scales: Sequence[float] = L2_SCALES) -> list[float]:
    """λ values for the Gram matrix ``g``: ``scales`` × its mean diagonal."""
    mean = float(np.mean(np.diag(g))) if g.size else 1.0
    return [float(s * max(mean, 1e-9)) for s in scales]


def _weights(p: np.ndarray) -> np.ndarray:
    b = p / -np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b.astype(np.float32)


def solve(g: np.ndarray, l2: float) -> np.ndarray:
    """B for one λ (float32, zero diagonal)."""
    a = g.copy()
    a[np.diag_indices_from(a)] += l2
    return _weights(np.linalg.inv(a))


def solve_path(g: np.ndarray, l2s: Sequence[float]) -> Iterator[tuple[float, np.ndarray]]:
    """B for each λ from one eigendecomposition of ``g`` (cheaper than one inverse each)."""
    values, vectors = np.linalg.eigh(g)
    for l2 in l2s:
        yield l2, _weights((vectors / (values + l2)) @ vectors.T)


@dataclass(frozen=True)
class ItemItem:
    """EASE weights over ``items`` (content_ids); no person appears anywhere in it."""

    items: pd.Index
    weights: np.ndarray = field(repr=False)  # float32 (n, n), zero diagonal
    l2: float

    @classmethod
    def fit(cls, history: pd.DataFrame, l2_scale: float | None, max_items: int) -> ItemItem:
        """Fitted on ``history`` (positives count) with λ = ``l2_scale`` × the mean takers
        per item (``l2_grid``); None: ``FALLBACK_L2_SCALE``."""
        items = item_columns(history, max_items)
        g = gram(history, items)
        (l2,) = l2_grid(g, (l2_scale if l2_scale is not None else FALLBACK_L2_SCALE,))
        return cls(items=items, weights=solve(g, l2), l2=l2)

    def aligned(self, content_ids: Sequence[str]) -> np.ndarray:
        """float32 (len(items) × len(content_ids)): the weights with one column per
        catalogue item in ``content_ids`` order (zeros for an item not learned, e.g. new
        content), so that scoring is one sparse × dense product."""
        columns = self.items.get_indexer(pd.Index(content_ids, dtype=object))
        out = np.zeros((len(self.items), len(columns)), dtype=np.float32)
        known = columns >= 0
        out[:, known] = self.weights[:, columns[known]]
        return out

    def history(self, history: pd.DataFrame, persons: pd.Index) -> sp.csr_matrix:
        """The input rows of ``persons``: their positives over ``self.items``."""
        return history_matrix(history, persons, self.items)
