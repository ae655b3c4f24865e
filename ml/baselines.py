"""The approaches the model has to beat, as ``Scorer``s on the model's own grid.

Each baseline is a ``TableScorer``: float32 (persons × items) scores computed chunk by
chunk from a precomputed table, so the evaluation treats every approach identically
(same exclusions, same ranking rules, same metrics). Ties within a baseline are broken
by global popularity, then by item order, so the baselines are deterministic and as
strong as their rule allows.

- global popularity: how many distinct persons had a positive interaction with an item;
- role popularity: the same within the person's ``job_code`` — "everyone in sales gets
  course B", the practice the product replaces; roles unseen in history fall back to
  global popularity;
- skill-gap matching (rules only, no learning): the next step on the ladders of the
  person's gaps (``gap_match``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data import Marts
from ml.language import language_fit
from ml.metrics import CHUNK
from ml.skill_prior import expected_gaps

_TIE = 1e-3  # weight of the popularity tie-breaker, below any real difference in counts


def _popularity(history: pd.DataFrame, items: pd.Index) -> np.ndarray:
    positives = history[history["weight"] > 0]
    counts = positives.groupby("content_id")["person_key"].nunique()
    pop = counts.reindex(items).fillna(0).to_numpy(dtype=np.float64)
    return pop / max(pop.max(), 1.0)


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


PEER_WEIGHT = 5.0  # pseudo-persons of the parent group in a role's smoothed rates


def _rates(counts: pd.DataFrame, persons: pd.Series, parent: np.ndarray) -> pd.DataFrame:
    """Share of each group's persons who took each item, shrunk to ``parent`` (one row per
    group) with the weight of ``PEER_WEIGHT`` persons."""
    n = persons.reindex(counts.index).fillna(0).to_numpy(float)[:, None]
    return pd.DataFrame(
        (counts.to_numpy(float) + PEER_WEIGHT * parent) / (n + PEER_WEIGHT),
        index=counts.index,
        columns=counts.columns,
    )


def smoothed_role_rates(
    history: pd.DataFrame, employees: pd.DataFrame, items: pd.Index
) -> pd.DataFrame:
    """(job_code × items): share of the role's learners who took each item, shrunk to the
    job family's share, itself shrunk to the organisation's.

    Why not the raw counts of role popularity: a role has a dozen or two learners, so its
    counts are mostly chance — one person's pick makes an item "the role's"; the family and
    the organisation say what such a role is likely to take where the role itself has
    little to say (the same shrinkage as ``ml.skill_prior``). Roles unseen in history have
    no row."""
    emp = employees.set_index(employees["person_key"].astype(str))
    positives = history[history["weight"] > 0]
    learners = pd.DataFrame({"person_key": positives["person_key"].astype(str).unique()})
    learners["job_code"] = emp["job_code"].reindex(learners["person_key"]).astype(str).to_numpy()
    learners["job_family"] = (
        emp["job_family"].reindex(learners["person_key"]).astype(str).to_numpy()
        if "job_family" in emp.columns
        else learners["job_code"]
    )
    took = positives[["person_key", "content_id"]].drop_duplicates()
    took = took.merge(learners, on="person_key")
    org = took["content_id"].value_counts().reindex(items, fill_value=0).to_numpy(float) / max(
        len(learners), 1
    )

    def counts(group: str) -> pd.DataFrame:
        return (
            took.groupby([group, "content_id"])["person_key"]
            .nunique()
            .unstack(fill_value=0)
            .reindex(columns=items, fill_value=0)
        )

    family = _rates(counts("job_family"), learners["job_family"].value_counts(), org[None, :])
    roles = counts("job_code")
    family_of = learners.drop_duplicates("job_code").set_index("job_code")["job_family"]
    parent = family.reindex(family_of.reindex(roles.index)).to_numpy()
    return _rates(roles, learners["job_code"].value_counts(), parent)


def gap_teaching(
    marts: Marts, persons: pd.Index, items: pd.Index, gaps: pd.DataFrame | None = None
) -> pd.DataFrame:
    """(person_key, content_id, skill_id, level_taught, expected_level, weighted_gap) for
    every item teaching a skill the person lacks for their role (gap > 0), gaps and levels
    measured from the expected level (``ml.skill_prior``): without evidence a person is
    not at 0, but where people in their role usually are. ``gaps``: ``expected_gaps``
    already computed (a caller working through persons in chunks computes it once)."""
    gaps = gaps if gaps is not None else expected_gaps(marts)
    gaps = gaps[(gaps["gap"] > 0) & gaps["person_key"].isin(persons)]
    pairs = gaps.merge(marts.content_skills, on="skill_id")
    pairs = pairs[pairs["content_id"].isin(items)]
    return pairs[
        [
            "person_key",
            "content_id",
            "skill_id",
            "level_taught",
            "expected_level",
            "weighted_gap",
        ]
    ]


def teaches_gap_matrix(marts: Marts, persons: pd.Index, items: pd.Index) -> sp.csr_matrix:
    """Boolean (persons × items): the item teaches at least one of the person's gaps.

    A sparse product of (persons × gap skills) and (skills × items) rather than the rows
    of ``gap_teaching``: those are one per person × gap skill × item teaching it, and at
    100,000 persons their DataFrame took gigabytes for a matrix of a few hundred MB."""
    gaps = expected_gaps(marts)
    gaps = gaps[gaps["gap"] > 0]
    taught = marts.content_skills
    skills = pd.Index(pd.unique(taught["skill_id"]))
    person, skill = persons.get_indexer(gaps["person_key"]), skills.get_indexer(gaps["skill_id"])
    mine = (person >= 0) & (skill >= 0)
    lacks = sp.csr_matrix(
        (np.ones(mine.sum(), np.int32), (person[mine], skill[mine])),
        shape=(len(persons), len(skills)),
    )
    teaching, item = skills.get_indexer(taught["skill_id"]), items.get_indexer(taught["content_id"])
    listed = item >= 0
    teaches = sp.csr_matrix(
        (np.ones(listed.sum(), np.int32), (teaching[listed], item[listed])),
        shape=(len(skills), len(items)),
    )
    product = (lacks @ teaches).tocsr()
    product.sort_indices()
    return sp.csr_matrix(
        (np.ones(product.nnz, dtype=bool), product.indices, product.indptr),
        shape=(len(persons), len(items)),
    )


NEXT_STEP = 1.0  # levels above the expected level where the next step sits
STEP_WIDTH = 0.75  # spread (levels) of the next step around that target


def gap_match(
    marts: Marts,
    persons: pd.Index,
    items: pd.Index,
    gaps: pd.DataFrame | None = None,
    fit: pd.DataFrame | None = None,
) -> sp.csr_matrix:
    """(persons × items) how likely an item is the person's next step on their gaps: a
    share of attention per gap skill (its weighted gap over the person's total) times a
    share of that skill's items, each weighted by closeness of its level to one level
    above the expected one (a Gaussian of ``STEP_WIDTH`` around ``NEXT_STEP`` up).

    Why this shape: people work on the gaps they feel most, and learn best one step
    beyond what they hold (boredom below, overload far above); a step too high or too
    low is less likely, not impossible. The earlier rule — any item between the
    expected and the required level, scored by its gap — gave the whole ladder of a gap
    the same score, so introductions ranked with expert content for the same person.
    Dividing by the skill's items keeps a skill with a large catalogue from crowding out
    the other gaps. An item's closeness is scaled by how well its language suits the
    person (``ml.language``): the right course in a language they do not read is no
    step at all. 0 where an item teaches none of the person's gaps. ``gaps``
    (``expected_gaps``) and ``fit`` (``language_fit`` of at least ``persons``): computed
    once by a caller that works through persons in chunks.

    Persons are taken ``CHUNK`` at a time: behind the matrix are rows of person × gap
    skill × item teaching it, and at 100,000 persons all of them at once took gigabytes.
    Each row depends on its own person only, and the skills are numbered (the order in
    which a person's gaps are summed) as one call over all ``persons`` numbers them, so
    the chunks give the very same matrix."""
    gaps = gaps if gaps is not None else expected_gaps(marts)
    gaps = gaps[(gaps["gap"] > 0) & gaps["person_key"].isin(persons)]
    fit = language_fit(marts, persons) if fit is None else fit
    language = marts.content.set_index("content_id")["language"].reindex(items)
    taught = marts.content_skills.loc[marts.content_skills["content_id"].isin(items), "skill_id"]
    skills = pd.Index(pd.unique(gaps.loc[gaps["skill_id"].isin(taught), "skill_id"]))
    blocks = [
        _gap_match_rows(marts, persons[s : s + CHUNK], items, gaps, fit, language, skills)
        for s in range(0, len(persons), CHUNK)
    ]
    if not blocks:
        return sp.csr_matrix((0, len(items)), dtype=np.float64)
    return sp.vstack(blocks, format="csr")


def _gap_match_rows(
    marts: Marts,
    persons: pd.Index,
    items: pd.Index,
    gaps: pd.DataFrame,
    fit: pd.DataFrame,
    language: pd.Series,
    skills: pd.Index,
) -> sp.csr_matrix:
    """``gap_match`` of a chunk of persons (``skills``: the numbering of the gap skills)."""
    pairs = gap_teaching(marts, persons, items, gaps)
    if pairs.empty:
        return sp.csr_matrix((len(persons), len(items)), dtype=np.float64)
    person = persons.get_indexer(pairs["person_key"])
    item = items.get_indexer(pairs["content_id"])
    skill = skills.get_indexer(pairs["skill_id"])
    # integer codes, not strings: at 10k persons there are millions of pairs
    _, first, group = np.unique(
        person.astype(np.int64) * len(skills) + skill, return_index=True, return_inverse=True
    )
    gap = pairs["weighted_gap"].to_numpy(float)[first]  # per (person, gap skill)
    attention = gap / np.bincount(person[first], weights=gap, minlength=len(persons))[person[first]]
    fit = fit.reindex(persons)
    column = fit.columns.get_indexer(language.astype("string").fillna(""))[item]
    readable = np.where(column >= 0, fit.to_numpy()[person, np.maximum(column, 0)], 1.0)
    off = pairs["level_taught"].to_numpy(float) - pairs["expected_level"].to_numpy(float)
    closeness = np.exp(-0.5 * ((off - NEXT_STEP) / STEP_WIDTH) ** 2) * readable
    total = np.bincount(group, weights=closeness)[group]
    share = np.divide(closeness, total, out=np.zeros_like(closeness), where=total > 0)
    # duplicates (an item teaching two gap skills) are summed by the sparse constructor
    return sp.coo_matrix(
        (share * attention[group], (person, item)), shape=(len(persons), len(items))
    ).tocsr()


BASELINES = ("global_popularity", "role_popularity", "skill_gap")


@dataclass(frozen=True)
class TableScorer:
    """A ``Scorer`` (docs/architecture.md) over a precomputed table: each person reads
    the row ``row_of`` gives them (all persons row 0 when it is None; unknown persons
    zeros), plus ``offset`` per item. How a baseline goes through the ranking rules
    like the model, and is scored in chunks without a persons × items matrix."""

    item_ids: np.ndarray
    table: np.ndarray | sp.csr_matrix
    row_of: pd.Series | None
    offset: np.ndarray

    def score(self, person_keys: Sequence[str]) -> np.ndarray:
        n = len(person_keys)
        if self.row_of is None:
            rows = np.zeros(n, dtype=np.int64)
        else:
            found = self.row_of.reindex(pd.Index(person_keys, dtype=object)).to_numpy(float)
            rows = np.where(np.isnan(found), -1, found).astype(np.int64)
        out = np.zeros((n, len(self.item_ids)), dtype=np.float32)
        known = rows >= 0
        if known.any():
            block = self.table[rows[known]]
            out[known] = block.toarray() if sp.issparse(block) else block
        out += self.offset[None, :].astype(np.float32)
        return out


def baseline_scorer(
    name: str, marts: Marts, history: pd.DataFrame, persons: pd.Index, items: pd.Index
) -> TableScorer:
    """The baseline ``name`` for ``persons`` (only needed by the skill-gap rule, which
    reads their gaps) over ``items``, from ``history`` and ``marts`` as of one cutoff."""
    pop = _popularity(history, items)
    item_ids = items.to_numpy(dtype=object)
    if name == "global_popularity":
        return TableScorer(item_ids, pop[None, :], None, np.zeros(len(items)))
    tie = _TIE * pop
    if name == "role_popularity":
        share = role_shares(history, marts.employees, items)
        role_of = marts.employees.set_index("person_key")["job_code"].astype(str)
        row_of = pd.Series(share.index.get_indexer(role_of.to_numpy()), index=role_of.index)
        return TableScorer(item_ids, share.to_numpy(), row_of[row_of >= 0], tie)
    if name == "skill_gap":
        row_of = pd.Series(np.arange(len(persons)), index=persons)
        return TableScorer(item_ids, gap_match(marts, persons, items), row_of, tie)
    raise ValueError(f"unknown baseline {name!r}; known: {', '.join(BASELINES)}")


def baseline_scores(
    name: str, marts: Marts, history: pd.DataFrame, persons: pd.Index, items: pd.Index
) -> np.ndarray:
    """float32 (persons × items) of the baseline ``name`` (small data: tests, notebooks)."""
    return baseline_scorer(name, marts, history, persons, items).score(list(persons))
