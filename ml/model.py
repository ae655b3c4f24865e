"""The trained recommender as the ranking sees it: a ``Scorer`` (docs/architecture.md).

Scores are a matrix product of precomputed user and item representations (embedding
plus bias, exactly what ``LightFM.predict`` computes), done in chunks, so scoring every
person against the whole catalogue costs one BLAS call per chunk instead of a Python loop.

A model is *bound* to a marts snapshot: person features (role, skills, history, …) and
item features are built from it. The same weights can be re-bound to newer marts, which
is how new hires and new content get scores from their features without retraining.
``unbound()`` drops the person rows, which is the form that is stored in MLflow: the
artifact holds weights and vocabularies only, never a person key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from lightfm import LightFM

from ml.data import Marts
from ml.features import FeatureSpace
from ml.metrics import CHUNK
from ml.metrics import top_k as _top_k

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Representations:
    """Per-row embedding matrix and bias vector (what LightFM sums features into)."""

    bias: np.ndarray  # float32 (n,)
    embedding: np.ndarray  # float32 (n, components)

    @classmethod
    def of_users(cls, model: LightFM, features: sp.csr_matrix) -> Representations:
        bias, emb = model.get_user_representations(features)
        return cls(bias.astype(np.float32), emb.astype(np.float32))

    @classmethod
    def of_items(cls, model: LightFM, features: sp.csr_matrix) -> Representations:
        bias, emb = model.get_item_representations(features)
        return cls(bias.astype(np.float32), emb.astype(np.float32))


def score_matrix(users: Representations, items: Representations) -> np.ndarray:
    """float32 (users × items) = U·Iᵀ + user bias + item bias."""
    out = users.embedding @ items.embedding.T
    out += users.bias[:, None]
    out += items.bias[None, :]
    return out


@dataclass(frozen=True)
class Recommender:
    """LightFM weights + feature vocabularies (+ a bound snapshot for scoring)."""

    model: LightFM = field(repr=False)
    features: FeatureSpace = field(repr=False)
    params: Mapping[str, Any]
    run_id: str | None = None  # the MLflow run that logged this model
    item_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    _items: Representations | None = field(default=None, repr=False)
    _users: Representations | None = field(default=None, repr=False)
    _person_row: pd.Series | None = field(default=None, repr=False)

    def bind(
        self,
        marts: Marts,
        history: pd.DataFrame | None,
        content_ids: Sequence[str] | None = None,
    ) -> Recommender:
        """Features of every person in ``marts.employees`` (history = their interactions)
        and of ``content_ids`` (default: all of ``dim_content``)."""
        persons = marts.employees["person_key"].astype(str).to_numpy()
        items = np.asarray(
            content_ids if content_ids is not None else marts.content["content_id"].astype(str),
            dtype=object,
        )
        users = Representations.of_users(
            self.model, self.features.user_matrix(marts, history, persons)
        )
        return replace(
            self,
            item_ids=items,
            _items=Representations.of_items(self.model, self.features.item_matrix(marts, items)),
            _users=users,
            _person_row=pd.Series(np.arange(len(persons)), index=pd.Index(persons, dtype=object)),
        )

    def unbound(self) -> Recommender:
        """Without person rows or item snapshot: the form stored in MLflow."""
        return replace(
            self,
            item_ids=np.array([], dtype=object),
            _items=None,
            _users=None,
            _person_row=None,
        )

    @property
    def is_bound(self) -> bool:
        return self._users is not None

    def _bound(self) -> tuple[Representations, Representations, pd.Series]:
        if self._users is None or self._person_row is None or self._items is None:
            raise RuntimeError("bind the model to a marts snapshot first: model.bind(marts, ...)")
        return self._users, self._items, self._person_row

    def score(self, person_keys: Sequence[str]) -> np.ndarray:
        """float32 (len(person_keys), len(item_ids)); higher is better. Persons missing
        from the bound snapshot get an empty feature row (item biases only)."""
        users, items, person_row = self._bound()
        rows = person_row.reindex(pd.Index(person_keys, dtype=object)).to_numpy(dtype=float)
        unknown = np.isnan(rows)
        if unknown.any():
            log.warning("%d person(s) not in the bound marts: scored by item bias", unknown.sum())
        idx = np.where(unknown, 0, rows).astype(np.int64)
        emb = users.embedding[idx]
        bias = users.bias[idx]
        emb[unknown] = 0.0
        bias[unknown] = 0.0
        return score_matrix(Representations(bias, emb), items)

    def top_k(
        self,
        person_keys: Sequence[str],
        k: int,
        exclude: sp.csr_matrix | Mapping[str, Sequence[str]] | None = None,
    ) -> np.ndarray:
        """content_ids (len(person_keys) × k), best first, chunked to bound memory;
        ``exclude`` is a (persons × items) sparse mask or person_key → content_ids.
        Slots without a candidate left are ``None``."""
        mask = (
            self._exclusion_mask(person_keys, exclude) if isinstance(exclude, Mapping) else exclude
        )
        parts = []
        for start in range(0, len(person_keys), CHUNK):
            chunk = list(person_keys[start : start + CHUNK])
            sub = mask[start : start + len(chunk)] if mask is not None else None
            parts.append(_top_k(self.score(chunk), k, sub))
        idx = np.vstack(parts) if parts else np.empty((0, k), dtype=np.int64)
        ids = np.append(self.item_ids, None)  # index -1 → None
        return ids[idx]

    def _exclusion_mask(
        self, person_keys: Sequence[str], exclude: Mapping[str, Sequence[str]]
    ) -> sp.csr_matrix:
        col = pd.Series(np.arange(len(self.item_ids)), index=pd.Index(self.item_ids))
        rows, cols = [], []
        for r, pk in enumerate(person_keys):
            found = col.reindex(list(exclude.get(pk, ()))).dropna().to_numpy(dtype=np.int64)
            rows.append(np.full(found.size, r))
            cols.append(found)
        r_all = np.concatenate(rows) if rows else np.array([], dtype=np.int64)
        c_all = np.concatenate(cols) if cols else np.array([], dtype=np.int64)
        return sp.csr_matrix(
            (np.ones(r_all.size, dtype=bool), (r_all, c_all)),
            shape=(len(person_keys), len(self.item_ids)),
        )
