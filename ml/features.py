"""User and item features, as named tokens in a vocabulary fixed at training time.

Why tokens: LightFM represents a person as the sum of the embeddings of their features,
so anything expressed as tokens — role, department, a skill at a level, a format that
works for them, the items they already did — generalises to people the model never saw.
No person has an identity feature: to LightFM a person is *only* their features, so a
new hire is scored exactly like an established colleague with the same role and skills,
and the model holds no per-person parameters (nothing to erase from it, no person key
inside). What is personal — the person's own history — enters through the item-item
signal of the blend (ml.itemitem), computed at scoring time, not stored.
Items do get an identity token besides their metadata, since catalogue items are not
personal and identity lets popular items carry their own signal; new content has no
identity token and is scored from its metadata alone.

Tokens (weights are L1-normalised per row so that people with long histories are not
louder than new hires):
- user: ``job_code``, ``job_family``, ``department``, ``seniority``, ``tenure_band``;
  ``skill:<id>:L<0-5>`` (floor of the estimated level, weight = confidence, floored at
  0.2); ``gap:<id>`` and ``gap:<id>:L<next level>`` for each skill the person's role
  requires and they lack (``mart_skill_gaps`` measured from the expected level of
  ``ml.skill_prior``, weight = weighted gap), the user side
  of the items' ``teaches:<id>`` and ``teaches:<id>:L<level>`` tokens, so that one
  embedding pair can carry "people learn what their role needs next" for every skill
  (levels alone would make the model learn that skill by skill, role by role);
  ``affinity:<format>:<low|high>`` (completion rate ≤ 1/3 or ≥ 2/3); and, with
  ``history=True``, ``did:<content_id>`` weighted by the interaction weight.
- item: ``item:<content_id>``, ``teaches:<skill>``, ``teaches:<skill>:L<level>``,
  ``level``, ``format``, ``duration``, ``provider``.

Sensitive attributes never appear: the marts do not carry them, and the user columns are
listed explicitly below rather than taken from whatever ``dim_employee`` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data import Marts
from ml.skill_prior import expected_gaps

USER_CATEGORICALS = ("job_code", "job_family", "department", "seniority_level", "tenure_band")
ITEM_CATEGORICALS = ("level", "format", "duration_band", "provider")


@dataclass(frozen=True)
class FeatureConfig:
    history: bool = False  # the items a person did as features (see ml/README.md)
    history_weight: float = 2.0  # total weight of the history tokens before normalisation
    skill_weight: float = 2.0  # total weight of the skill tokens before normalisation
    gap_weight: float = 2.0  # total weight of the gap tokens before normalisation
    min_confidence: float = 0.2


def _tokens(frame: pd.DataFrame, key: str, prefix: str, column: str) -> pd.DataFrame:
    values = frame[column]
    ok = values.notna()
    return pd.DataFrame(
        {
            "key": frame.loc[ok, key].astype(str).to_numpy(),
            "token": (prefix + ":" + values[ok].astype(str)).to_numpy(),
            "weight": 1.0,
        }
    )


def _share(tokens: pd.DataFrame, total: float) -> pd.DataFrame:
    """Spread ``total`` over each key's tokens in proportion to their weights."""
    sums = tokens.groupby("key")["weight"].transform("sum")
    return tokens.assign(weight=tokens["weight"] / sums.where(sums > 0, 1.0) * total)


def user_tokens(marts: Marts, history: pd.DataFrame | None, config: FeatureConfig) -> pd.DataFrame:
    """Long (key, token, weight) frame of every person's features."""
    emp = marts.employees
    parts = [_tokens(emp, "person_key", col, col) for col in USER_CATEGORICALS]

    prof = marts.skill_profile
    if not prof.empty:
        level = np.floor(prof["estimated_level"].astype(float).clip(0, 5)).astype(int)
        skills = pd.DataFrame(
            {
                "key": prof["person_key"].astype(str).to_numpy(),
                "token": (
                    "skill:" + prof["skill_id"].astype(str) + ":L" + level.astype(str)
                ).to_numpy(),
                "weight": prof["confidence"].fillna(0).clip(config.min_confidence, 1).to_numpy(),
            }
        )
        parts.append(_share(skills, config.skill_weight))

    gaps = expected_gaps(marts)
    gaps = gaps[gaps["gap"] > 0]
    if not gaps.empty:
        level = np.floor(gaps["expected_level"].astype(float).clip(0, 5)).astype(int) + 1
        nxt = np.minimum(level, gaps["required_level"].astype(int))
        plain = pd.DataFrame(
            {
                "key": gaps["person_key"].astype(str).to_numpy(),
                "token": ("gap:" + gaps["skill_id"].astype(str)).to_numpy(),
                "weight": gaps["weighted_gap"].astype(float).clip(lower=1e-3).to_numpy(),
            }
        )
        at_level = plain.assign(token=plain["token"] + ":L" + nxt.astype(str).to_numpy())
        parts.append(_share(pd.concat([plain, at_level], ignore_index=True), config.gap_weight))

    pe = marts.person_engagement
    for col in (c for c in pe.columns if c.startswith("affinity_")):
        fmt = col.removeprefix("affinity_")
        value = pe[col].astype(float)
        band = np.where(value <= 1 / 3, "low", np.where(value >= 2 / 3, "high", ""))
        keep = band != ""
        parts.append(
            pd.DataFrame(
                {
                    "key": pe.loc[keep, "person_key"].astype(str).to_numpy(),
                    "token": (f"affinity:{fmt}:" + pd.Series(band[keep])).to_numpy(),
                    "weight": 1.0,
                }
            )
        )

    if config.history and history is not None and not history.empty:
        did = history[history["weight"] > 0]
        hist = pd.DataFrame(
            {
                "key": did["person_key"].to_numpy(),
                "token": ("did:" + did["content_id"]).to_numpy(),
                "weight": did["weight"].astype(float).to_numpy(),
            }
        )
        parts.append(_share(hist, config.history_weight))
    return pd.concat(parts, ignore_index=True)


def item_tokens(marts: Marts) -> pd.DataFrame:
    content = marts.content
    parts = [_tokens(content, "content_id", "item", "content_id")]
    parts += [_tokens(content, "content_id", col, col) for col in ITEM_CATEGORICALS]
    bridge = marts.content_skills
    if not bridge.empty:
        taught = pd.DataFrame(
            {
                "key": bridge["content_id"].astype(str).to_numpy(),
                "token": ("teaches:" + bridge["skill_id"].astype(str)).to_numpy(),
                "weight": 1.0,
            }
        )
        at_level = taught.assign(
            token=taught["token"]
            + ":L"
            + bridge["level_taught"].astype("Int64").astype(str).to_numpy()
        )
        parts += [_share(taught, 1.0), _share(at_level, 1.0)]
    return pd.concat(parts, ignore_index=True)


def _matrix(tokens: pd.DataFrame, keys: Sequence[str], vocab: dict[str, int]) -> sp.csr_matrix:
    """Rows in the order of ``keys``; tokens outside ``vocab`` (unseen at training) and
    keys without tokens give an empty row, i.e. scores from biases only."""
    row_of = pd.Series(np.arange(len(keys)), index=pd.Index(keys, dtype=object))
    rows = tokens["key"].map(row_of)
    cols = tokens["token"].map(vocab)
    ok = rows.notna().to_numpy() & cols.notna().to_numpy()
    mat = sp.coo_matrix(
        (
            tokens["weight"].to_numpy(dtype=np.float32)[ok],
            (rows.to_numpy()[ok].astype(np.int64), cols.to_numpy()[ok].astype(np.int64)),
        ),
        shape=(len(keys), len(vocab)),
    ).tocsr()
    mat.sum_duplicates()
    norms = np.asarray(mat.sum(axis=1)).ravel()
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ mat, dtype=np.float32)


@dataclass(frozen=True)
class FeatureSpace:
    """The vocabularies fixed at training time; builds matrices for any marts snapshot."""

    config: FeatureConfig
    user_vocab: dict[str, int] = field(repr=False)
    item_vocab: dict[str, int] = field(repr=False)

    @classmethod
    def fit(cls, marts: Marts, history: pd.DataFrame, config: FeatureConfig) -> FeatureSpace:
        users = user_tokens(marts, history, config)
        items = item_tokens(marts)
        return cls(
            config=config,
            user_vocab={t: i for i, t in enumerate(sorted(users["token"].unique()))},
            item_vocab={t: i for i, t in enumerate(sorted(items["token"].unique()))},
        )

    @property
    def user_feature_names(self) -> list[str]:
        return list(self.user_vocab)

    @property
    def item_feature_names(self) -> list[str]:
        return list(self.item_vocab)

    def user_matrix(
        self, marts: Marts, history: pd.DataFrame | None, person_keys: Sequence[str]
    ) -> sp.csr_matrix:
        return _matrix(user_tokens(marts, history, self.config), person_keys, self.user_vocab)

    def item_matrix(self, marts: Marts, content_ids: Sequence[str]) -> sp.csr_matrix:
        return _matrix(item_tokens(marts), content_ids, self.item_vocab)
