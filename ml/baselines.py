"""The approaches the model has to beat, as score matrices on the model's own grid.

Each baseline returns float32 (persons × items) scores so the evaluation treats every
approach identically (same exclusions, same metrics). Ties within a baseline are broken
by global popularity, then by item order, so the baselines are deterministic and as
strong as their rule allows.

- global popularity: how many distinct persons had a positive interaction with an item;
- role popularity: the same within the person's ``job_code`` — "everyone in sales gets
  course B", the practice the product replaces; roles unseen in history fall back to
  global popularity;
- skill-gap matching (rules only, no learning): items teaching the person's gaps for
  their role, at a level above their expected level (``ml.skill_prior``: own evidence
  where strong, role peers' where thin) and not beyond what the role requires, scored by
  the weighted gap they address.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data import Marts
from ml.skill_prior import expected_gaps

_TIE = 1e-3  # weight of the popularity tie-breaker, below any real difference in counts


def _popularity(history: pd.DataFrame, items: pd.Index) -> np.ndarray:
    positives = history[history["weight"] > 0]
    counts = positives.groupby("content_id")["person_key"].nunique()
    pop = counts.reindex(items).fillna(0).to_numpy(dtype=np.float64)
    return pop / max(pop.max(), 1.0)


def _with_tiebreak(primary: np.ndarray, history: pd.DataFrame, items: pd.Index) -> np.ndarray:
    return (primary + _TIE * _popularity(history, items)[None, :]).astype(np.float32)


def global_popularity(history: pd.DataFrame, persons: pd.Index, items: pd.Index) -> np.ndarray:
    pop = _popularity(history, items).astype(np.float32)
    return np.broadcast_to(pop, (len(persons), len(items))).copy()


def role_shares(history: pd.DataFrame, employees: pd.DataFrame, items: pd.Index) -> pd.DataFrame:
    """(job_code × items): persons of the role with a positive on the item, as a share of
    the role's most taken item (so every role's favourite scores 1)."""
    role_of = employees.set_index("person_key")["job_code"].astype(str)
    positives = history[history["weight"] > 0].assign(
        job_code=lambda f: f["person_key"].map(role_of)
    )
    counts = (
        positives.groupby(["job_code", "content_id"])["person_key"].nunique().unstack(fill_value=0)
    )
    counts = counts.reindex(columns=items, fill_value=0)
    return counts.div(counts.max(axis=1).clip(lower=1), axis=0)


def role_popularity(
    history: pd.DataFrame, employees: pd.DataFrame, persons: pd.Index, items: pd.Index
) -> np.ndarray:
    role_of = employees.set_index("person_key")["job_code"].astype(str)
    share = role_shares(history, employees, items)
    by_role = share.reindex(role_of.reindex(persons).to_numpy()).fillna(0).to_numpy()
    return _with_tiebreak(by_role, history, items)


def gap_teaching(marts: Marts, persons: pd.Index, items: pd.Index) -> pd.DataFrame:
    """(person_key, content_id, skill_id, weighted_gap, at_right_level) for every item
    teaching a skill the person lacks for their role (gap > 0), gaps and levels measured
    from the expected level (``ml.skill_prior``): without evidence a person is not at 0,
    but where people in their role usually are."""
    gaps = expected_gaps(marts)
    gaps = gaps[(gaps["gap"] > 0) & gaps["person_key"].isin(persons)]
    pairs = gaps.merge(marts.content_skills, on="skill_id")
    pairs = pairs[pairs["content_id"].isin(items)]
    right = (pairs["level_taught"] > pairs["expected_level"]) & (
        pairs["level_taught"] <= pairs["required_level"]
    )
    return pairs.assign(at_right_level=right.to_numpy())[
        ["person_key", "content_id", "skill_id", "weighted_gap", "at_right_level"]
    ]


def teaches_gap_matrix(marts: Marts, persons: pd.Index, items: pd.Index) -> sp.csr_matrix:
    """Boolean (persons × items): the item teaches at least one of the person's gaps."""
    pairs = gap_teaching(marts, persons, items).drop_duplicates(["person_key", "content_id"])
    rows = persons.get_indexer(pairs["person_key"])
    cols = items.get_indexer(pairs["content_id"])
    return sp.csr_matrix(
        (np.ones(len(pairs), dtype=bool), (rows, cols)), shape=(len(persons), len(items))
    )


def gap_match(marts: Marts, persons: pd.Index, items: pd.Index) -> sp.csr_matrix:
    """(persons × items) weighted gap an item addresses at the right level, divided by the
    person's best item (so 1 is "the item for my biggest gaps"); 0 where it teaches none."""
    pairs = gap_teaching(marts, persons, items)
    pairs = pairs[pairs["at_right_level"]]
    summed = pairs.groupby(["person_key", "content_id"])["weighted_gap"].sum().reset_index()
    rows = persons.get_indexer(summed["person_key"])
    values = summed["weighted_gap"].to_numpy(dtype=np.float64)
    peak = pd.Series(values).groupby(rows).transform("max").to_numpy()
    return sp.csr_matrix(
        (
            np.divide(values, peak, out=np.zeros_like(values), where=peak > 0),
            (rows, items.get_indexer(summed["content_id"])),
        ),
        shape=(len(persons), len(items)),
    )


def skill_gap_matching(
    marts: Marts, history: pd.DataFrame, persons: pd.Index, items: pd.Index
) -> np.ndarray:
    return _with_tiebreak(gap_match(marts, persons, items).toarray(), history, items)


BASELINES = ("global_popularity", "role_popularity", "skill_gap")


def baseline_scores(
    name: str, marts: Marts, history: pd.DataFrame, persons: pd.Index, items: pd.Index
) -> np.ndarray:
    if name == "global_popularity":
        return global_popularity(history, persons, items)
    if name == "role_popularity":
        return role_popularity(history, marts.employees, persons, items)
    if name == "skill_gap":
        return skill_gap_matching(marts, history, persons, items)
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")
