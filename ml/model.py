"""The trained recommender as the ranking sees it: a ``Scorer`` (docs/architecture.md).

Scores are a matrix product of precomputed user and item representations (embedding
plus bias, exactly what ``LightFM.predict`` computes), done in chunks, so scoring every
person against the whole catalogue costs one BLAS call per chunk instead of a Python loop.

A model is *bound* to a marts snapshot: person features (role, skills, history, …) and
item features are built from it. The same weights can be re-bound to newer marts, which
is how new hires and new content get scores from their features without retraining.
``unbound()`` drops the person rows, which is the form that is stored in MLflow: the
artifact holds weights and vocabularies only, never a person key.

The score is a blend (stacking) of four signals, each standardised per person over the
items (z-score) so that weights compare like with like: the LightFM score (from the
person's features: role, skills, gaps, format affinity), item-item (EASE weights applied
to the person's own history at scoring time: ``ml.itemitem``), gap match (the skill-gap
rule: how likely an item is the next step on the person's gaps) and role popularity (the
share of the role's learners who took an item, shrunk to the job family's:
``ml.baselines.smoothed_role_rates``). Item-item is what makes a known person's list
their own; LightFM and the two rules carry what is known of anyone — what people with
these features take, what the role needs, what colleagues in the role take — and are all
a new hire without history gets (their item-item row is zero). The weights are fitted on
validation persons inside the training history (ml.train) and travel with the model; a
model with weight only on ``lightfm`` ranks exactly as LightFM alone.

Nothing in a stored (unbound) model belongs to a person: LightFM has no user identity
feature (ml.features) and the item-item weights are items × items.
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

from ml.baselines import gap_match, smoothed_role_rates
from ml.data import Marts
from ml.dataset import mandatory_content
from ml.features import FeatureSpace
from ml.itemitem import ItemItem
from ml.language import language_fit
from ml.metrics import CHUNK
from ml.metrics import top_k as _top_k
from ml.skill_prior import expected_gaps

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


BLEND_SIGNALS = ("lightfm", "itemitem", "gap", "role")
LIGHTFM_ONLY = {"lightfm": 1.0, "itemitem": 0.0, "gap": 0.0, "role": 0.0}


def standardise(scores: np.ndarray) -> np.ndarray:
    """Row-wise z-score (constant rows become 0): signals on different scales become
    comparable, and a per-row affine change never alters a ranking."""
    out = np.asarray(scores, dtype=np.float32)
    mean = out.mean(axis=1, keepdims=True)
    std = out.std(axis=1, keepdims=True)
    return np.divide(out - mean, std, out=np.zeros_like(out), where=std > 1e-12)


def blend(
    weights: Mapping[str, float], parts: Mapping[str, np.ndarray], standardised: bool = False
) -> np.ndarray:
    """Weighted sum of the standardised signals (float32); ``standardised=True`` when the
    caller already standardised ``parts`` (fitting the weights tries many on the same)."""
    shape = next(iter(parts.values())).shape
    out = np.zeros(shape, dtype=np.float32)
    for name, weight in weights.items():
        if weight:
            part = parts[name] if standardised else standardise(parts[name])
            out += np.float32(weight) * part
    return out


@dataclass(frozen=True)
class ContentSignals:
    """The blend's signals besides LightFM for the persons of one marts snapshot: gap
    match (computed per chunk of persons from their expected gaps and language fit, so
    the persons × items pairs never exist for everyone at once), smoothed role rates
    (roles × items, person → role row) and the item-item input (each person's history,
    sparse) with the item-item weights aligned to the catalogue."""

    marts: Marts = field(repr=False)
    persons: pd.Index
    items: pd.Index
    gaps: pd.DataFrame = field(repr=False)  # expected gaps > 0 of ``persons``
    fit: pd.DataFrame = field(repr=False)  # language fit of ``persons``
    role: np.ndarray = field(repr=False)
    role_row: np.ndarray = field(repr=False)  # -1: role unseen in history
    history: sp.csr_matrix | None = field(default=None, repr=False)  # persons × item-item items
    itemitem: np.ndarray | None = field(default=None, repr=False)  # item-item × catalogue

    @classmethod
    def of(
        cls,
        marts: Marts,
        history: pd.DataFrame | None,
        persons: pd.Index,
        items: pd.Index,
        itemitem: ItemItem | None = None,
    ) -> ContentSignals:
        """``history`` should already be without mandatory content (it would dominate
        every role's popularity without being a candidate)."""
        empty = pd.DataFrame(columns=["person_key", "content_id", "weight"])
        history = history if history is not None else empty
        shares = smoothed_role_rates(history, marts.employees, items)
        role_of = marts.employees.set_index("person_key")["job_code"].astype(str)
        gaps = expected_gaps(marts)
        return cls(
            marts=marts,
            persons=persons,
            items=items,
            gaps=gaps[(gaps["gap"] > 0) & gaps["person_key"].isin(persons)],
            fit=language_fit(marts, persons),
            role=shares.to_numpy(dtype=np.float32),
            role_row=shares.index.get_indexer(role_of.reindex(persons).to_numpy()),
            history=itemitem.history(history, persons) if itemitem is not None else None,
            itemitem=itemitem.aligned(items) if itemitem is not None else None,
        )

    def _gap(self, idx: np.ndarray) -> np.ndarray:
        rows, back = np.unique(idx, return_inverse=True)
        match = gap_match(self.marts, self.persons[rows], self.items, self.gaps, self.fit)
        return match.toarray().astype(np.float32)[back]

    def rows(self, idx: np.ndarray, unknown: np.ndarray) -> dict[str, np.ndarray]:
        gap = self._gap(idx)
        role_row = np.where(unknown, -1, self.role_row[idx])
        role = np.zeros_like(gap) if self.role.size == 0 else self.role[np.maximum(role_row, 0)]
        role[role_row < 0] = 0.0
        gap[unknown] = 0.0
        if self.history is None or self.itemitem is None:
            itemitem = np.zeros_like(gap)
        else:
            itemitem = np.asarray(self.history[idx] @ self.itemitem, dtype=np.float32)
            itemitem[unknown] = 0.0
        return {"itemitem": itemitem, "gap": gap, "role": role}


@dataclass(frozen=True)
class Recommender:
    """LightFM weights + feature vocabularies + item-item weights (+ a bound snapshot
    for scoring: the persons' features and histories)."""

    model: LightFM = field(repr=False)
    features: FeatureSpace = field(repr=False)
    params: Mapping[str, Any]
    itemitem: ItemItem | None = field(default=None, repr=False)
    weights: Mapping[str, float] = field(default_factory=lambda: dict(LIGHTFM_ONLY))
    run_id: str | None = None  # the MLflow run that logged this model
    item_ids: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))
    _items: Representations | None = field(default=None, repr=False)
    _users: Representations | None = field(default=None, repr=False)
    _person_row: pd.Series | None = field(default=None, repr=False)
    _signals: ContentSignals | None = field(default=None, repr=False)

    def bind(
        self,
        marts: Marts,
        history: pd.DataFrame | None,
        content_ids: Sequence[str] | None = None,
    ) -> Recommender:
        """Features of every person in ``marts.employees`` (history = their interactions:
        the item-item input and the source of role popularity) and of ``content_ids``
        (default: all of ``dim_content``)."""
        persons = marts.employees["person_key"].astype(str).to_numpy()
        items = np.asarray(
            content_ids if content_ids is not None else marts.content["content_id"].astype(str),
            dtype=object,
        )
        users = Representations.of_users(
            self.model, self.features.user_matrix(marts, history, persons)
        )
        if history is not None:
            history = history[~history["content_id"].isin(mandatory_content(marts.content))]
        return replace(
            self,
            item_ids=items,
            _items=Representations.of_items(self.model, self.features.item_matrix(marts, items)),
            _users=users,
            _person_row=pd.Series(np.arange(len(persons)), index=pd.Index(persons, dtype=object)),
            _signals=ContentSignals.of(
                marts,
                history,
                pd.Index(persons, dtype=object),
                pd.Index(items, dtype=object),
                self.itemitem,
            ),
        )

    def unbound(self) -> Recommender:
        """Without person rows or item snapshot: the form stored in MLflow."""
        return replace(
            self,
            item_ids=np.array([], dtype=object),
            _items=None,
            _users=None,
            _person_row=None,
            _signals=None,
        )

    @property
    def is_bound(self) -> bool:
        return self._users is not None

    def _bound(self) -> tuple[Representations, Representations, pd.Series]:
        if self._users is None or self._person_row is None or self._items is None:
            raise RuntimeError("bind the model to a marts snapshot first: model.bind(marts, ...)")
        return self._users, self._items, self._person_row

    def score(self, person_keys: Sequence[str]) -> np.ndarray:
        """float32 (len(person_keys), len(item_ids)); higher is better: the blend of
        LightFM, item-item, gap match and role popularity (module docstring). Persons
        missing from the bound snapshot get an empty feature row (item biases only), no
        history and no rule signal. Computed ``CHUNK`` persons at a time into the result, so
        the signals' temporaries stay the size of a chunk at any number of persons."""
        out = np.empty((len(person_keys), len(self.item_ids)), dtype=np.float32)
        for start in range(0, len(person_keys), CHUNK):
            out[start : start + CHUNK] = self._score(list(person_keys[start : start + CHUNK]))
        return out

    def _score(self, person_keys: Sequence[str]) -> np.ndarray:
        raw, idx, unknown = self._lightfm(person_keys)
        if not any(self.weights.get(name) for name in BLEND_SIGNALS[1:]):
            return blend(self.weights, {"lightfm": raw})
        assert self._signals is not None
        return blend(self.weights, {"lightfm": raw, **self._signals.rows(idx, unknown)})

    def lightfm_score(self, person_keys: Sequence[str]) -> np.ndarray:
        """The LightFM part alone (``LightFM.predict``'s values), for evaluation."""
        return self._lightfm(person_keys)[0]

    def _lightfm(self, person_keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        return score_matrix(Representations(bias, emb), items), idx, unknown

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
