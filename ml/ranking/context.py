"""Everything the rules know, indexed once from the marts, and the (person, item) pairs
they work on.

Persons, content and skills become integer positions; variable-length rows (an item's
skills, its prerequisites) become CSR arrays and sparse (person, other) tables become
sorted key lookups, so that a fact about millions of pairs is one vectorised call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.data import Marts
from ml.dataset import mandatory_content
from ml.ranking.config import FORMATS, MAX_LEVEL, RankingConfig
from ml.skill_prior import expected_gaps, skill_levels


@dataclass(frozen=True)
class Csr:
    """Rows of variable length (an item's skills, an item's prerequisites) as flat arrays,
    so that pairs can be expanded to (pair, element) rows without Python loops."""

    ptr: np.ndarray
    col: np.ndarray
    val: np.ndarray

    @classmethod
    def build(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int) -> Csr:
        order = np.lexsort((cols, rows))
        counts = np.bincount(rows, minlength=n_rows)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return cls(ptr, cols[order].astype(np.int64), vals[order])

    def expand(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each requested row, one entry per element: (position in ``rows``, element)."""
        counts = self.ptr[rows + 1] - self.ptr[rows]
        owner = np.repeat(np.arange(len(rows)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return owner, np.repeat(self.ptr[rows], counts) + offsets

    def counts(self, rows: np.ndarray) -> np.ndarray:
        return self.ptr[rows + 1] - self.ptr[rows]


@dataclass(frozen=True)
class PairLookup:
    """A sparse (person, other) → value table searched by encoded key, so a person's
    gap is looked up for millions of pairs at once."""

    keys: np.ndarray
    values: np.ndarray
    width: int

    @classmethod
    def build(cls, a: np.ndarray, b: np.ndarray, values: np.ndarray, width: int) -> PairLookup:
        keys = a.astype(np.int64) * width + b.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        return cls(keys[order], np.asarray(values, dtype=np.float64)[order], width)

    def get(self, a: np.ndarray, b: np.ndarray, default: float = 0.0) -> np.ndarray:
        keys = a.astype(np.int64) * self.width + b.astype(np.int64)
        pos = np.searchsorted(self.keys, keys)
        pos_clipped = np.minimum(pos, max(len(self.keys) - 1, 0))
        found = (
            (pos < len(self.keys)) & (self.keys[pos_clipped] == keys)
            if len(self.keys)
            else (np.zeros(len(keys), dtype=bool))
        )
        out = np.full(len(keys), default, dtype=np.float64)
        out[found] = self.values[pos_clipped[found]]
        return out

    def contains(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return ~np.isnan(self.get(a, b, default=np.nan))


_NUMBERED_COPY = re.compile(r"\s*\(\d+\)\s*$")


def near_duplicate_groups(titles: pd.Series, item_skills: Csr) -> tuple[np.ndarray, np.ndarray]:
    """Two group ids per item: its title once a trailing " (n)" is dropped and case folded
    (catalogues number their copies), and the skills it teaches with their levels. Two
    items of one group are near-duplicates: a list needs only one of them. Content that
    teaches no skill is a group of its own, as is content without a title."""
    n = len(item_skills.ptr) - 1
    key = titles.astype("string").str.replace(_NUMBERED_COPY, "", regex=True).str.casefold()
    key = key.str.strip().replace("", pd.NA)
    same_title = np.where(key.isna(), -1 - np.arange(n), pd.factorize(key)[0])
    taught = [  # rows are sorted by skill (Csr.build), so equal sets give equal keys
        " ".join(
            f"{s}@{v:g}" for s, v in zip(item_skills.col[a:b], item_skills.val[a:b], strict=True)
        )
        for a, b in zip(item_skills.ptr[:-1], item_skills.ptr[1:], strict=True)
    ]
    codes = pd.factorize(np.asarray(taught, dtype=object))[0]
    same_skills = np.where(item_skills.counts(np.arange(n)) > 0, codes, -1 - np.arange(n))
    return same_title.astype(np.int64), same_skills.astype(np.int64)


def as_bool(series: pd.Series, default: bool) -> np.ndarray:
    return series.astype("boolean").fillna(default).to_numpy(dtype=bool)


# Rank tiers, the first key of every list after the person: the model's items for a
# person come before any role-path item (a role-path top-up follows them, whatever the
# scores), and scores order items within a tier only.
PERSONALISED, ROLE_PATH = 0, 1


@dataclass(frozen=True)
class Pairs:
    """(person, item) candidates with their score and rank tier, as aligned arrays."""

    person: np.ndarray
    item: np.ndarray
    score: np.ndarray
    tier: np.ndarray

    @classmethod
    def of(cls, person: np.ndarray, item: np.ndarray, score: np.ndarray, tier: int) -> Pairs:
        return cls(person, item, score, np.full(len(person), tier, dtype=np.int8))

    def take(self, mask: np.ndarray) -> Pairs:
        return Pairs(*(getattr(self, f)[mask] for f in _PAIR_FIELDS))

    def with_score(self, score: np.ndarray) -> Pairs:
        return Pairs(self.person, self.item, score, self.tier)

    @staticmethod
    def concat(parts: list[Pairs]) -> Pairs:
        """The pairs of ``parts`` in order; none when there are no parts (a chunk of
        persons with nobody to score)."""
        if not parts:
            return Pairs.of(np.array([], np.int64), np.array([], np.int64), np.array([]), 0)
        return Pairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in _PAIR_FIELDS))


_PAIR_FIELDS = ("person", "item", "score", "tier")


class RankingContext:
    """Everything the rules need, indexed once from the marts: persons and content as
    integer positions, skills of content and prerequisites as CSR rows, expected levels
    as a dense (persons × skills) array and gaps as sparse lookups."""

    def __init__(self, marts: Marts) -> None:
        emp = marts.employees
        self.person_keys = emp["person_key"].astype(str).to_numpy()
        self.person_pos = pd.Index(self.person_keys)
        self.opted_out = as_bool(emp["opted_out"], False)
        self.active_person = as_bool(emp["is_active"], False)
        self.job_code = emp["job_code"].astype("string").fillna("").to_numpy(dtype=object)
        titles = emp.get("job_title", emp["job_code"]).astype("string").fillna("")
        self.job_title = titles.to_numpy(dtype=object)

        content = marts.content
        self.content_ids = content["content_id"].astype(str).to_numpy()
        self.content_pos = pd.Index(self.content_ids)
        # ties are broken by content_id, not by the order the marts happen to be read in
        self.item_order = np.argsort(np.argsort(self.content_ids, kind="stable"))
        # recommendable: active, and not content the organisation assigns anyway
        # (``dim_content.is_mandatory``: ml.dataset.mandatory_content)
        self.eligible_item = as_bool(content["is_active"], False) & ~self.content_pos.isin(
            mandatory_content(content)
        )
        self.format = content["format"].astype("string").fillna("").to_numpy(dtype=object)
        self.format_code = np.array(
            [FORMATS.index(f) if f in FORMATS else -1 for f in self.format], dtype=np.int64
        )

        skills = marts.skills
        self.skill_ids = skills["skill_id"].astype(str).to_numpy()
        self.skill_names = skills["name"].astype("string").fillna("").to_numpy(dtype=object)
        self.skill_pos = pd.Index(self.skill_ids)

        cs = marts.content_skills
        ci = self.content_pos.get_indexer(cs["content_id"].astype(str))
        si = self.skill_pos.get_indexer(cs["skill_id"].astype(str))
        ok = (ci >= 0) & (si >= 0)
        self.item_skills = Csr.build(
            ci[ok], si[ok], cs["level_taught"].to_numpy(dtype=float)[ok], len(self.content_ids)
        )

        pr = marts.prerequisites
        pi = self.content_pos.get_indexer(pr["content_id"].astype(str))
        ri = self.content_pos.get_indexer(pr["requires_content_id"].astype(str))
        ok = (pi >= 0) & (ri >= 0) & (pi != ri)
        self.prerequisites = Csr.build(pi[ok], ri[ok], np.ones(ok.sum()), len(self.content_ids))
        self.same_title, self.same_skills = near_duplicate_groups(
            content.get("title", content["content_id"]), self.item_skills
        )

        # expected levels (ml.skill_prior): own evidence where strong, role peers' where
        # thin, so "no evidence" does not read as "level 0" for mastery and level fit
        levels = skill_levels(marts)
        self.level = levels.expected[:, levels.skill_ids.get_indexer(self.skill_pos)]
        self.confidence = levels.confidence[:, levels.skill_ids.get_indexer(self.skill_pos)]

        sg = expected_gaps(marts, levels)
        p = self.person_pos.get_indexer(sg["person_key"].astype(str))
        s = self.skill_pos.get_indexer(sg["skill_id"].astype(str))
        gap = sg["gap"].to_numpy(dtype=float, na_value=0.0)
        ok = (p >= 0) & (s >= 0) & (gap > 0)
        weighted = sg["weighted_gap"].to_numpy(dtype=float, na_value=0.0)
        self.gap = PairLookup.build(p[ok], s[ok], gap[ok], len(self.skill_ids))
        self.weighted_gap = PairLookup.build(p[ok], s[ok], weighted[ok], len(self.skill_ids))
        self.gap_person, self.gap_skill = p[ok], s[ok]
        self.gap_weight = weighted[ok]

        eng = marts.engagement
        p = self.person_pos.get_indexer(eng["person_key"].astype(str))
        i = self.content_pos.get_indexer(eng["content_id"].astype(str))
        done = as_bool(eng["is_completed"], False) | as_bool(eng["is_passed"], False)
        ok = (p >= 0) & (i >= 0)
        self.completed = PairLookup.build(
            p[ok & done], i[ok & done], np.ones((ok & done).sum()), len(self.content_ids)
        )
        self._build_behaviour(marts, p, i, ok, done)

    def _build_behaviour(
        self, marts: Marts, p: np.ndarray, i: np.ndarray, ok: np.ndarray, done: np.ndarray
    ) -> None:
        """Aggregates of behaviour: popularity, colleagues' completions, format affinity and
        drop-off. Persons who opted out are left out of every aggregate that feeds other
        people's lists."""
        n_persons, n_items = len(self.person_keys), len(self.content_ids)
        counted = ok & done & ~self.opted_out[np.where(p >= 0, p, 0)]
        self.popularity = np.bincount(i[counted], minlength=n_items).astype(float)
        jobs = pd.Series(self.job_code)
        eligible = self.active_person & ~self.opted_out
        self.role_size = jobs[eligible].value_counts()
        # colleagues' shares: completions by current, consenting colleagues only
        in_role = counted & eligible[np.where(p >= 0, p, 0)]
        job_item = pd.DataFrame({"job": self.job_code[p[in_role]], "item": i[in_role]})
        self.role_completions = job_item.value_counts()

        self.affinity = np.full((n_persons, len(FORMATS)), np.nan)
        pe = marts.person_engagement
        rows = self.person_pos.get_indexer(pe["person_key"].astype(str))
        for f_idx, fmt in enumerate(FORMATS):
            column = f"affinity_{fmt}"
            if column in pe.columns:
                values = pe[column].to_numpy(dtype=float, na_value=np.nan)
                self.affinity[rows[rows >= 0], f_idx] = values[rows >= 0]
        with np.errstate(all="ignore"):
            self.mean_affinity = np.nanmean(self.affinity, axis=1)

        eng = marts.engagement
        fmt = np.where(i >= 0, self.format_code[np.where(i >= 0, i, 0)], -1)
        valid = ok & (fmt >= 0)
        dropped = as_bool(eng["dropped_early"], False)[valid]
        key = p[valid] * len(FORMATS) + fmt[valid]
        size = n_persons * len(FORMATS)
        starts = np.bincount(key, minlength=size).reshape(n_persons, len(FORMATS))
        drops = np.bincount(key[dropped], minlength=size).reshape(n_persons, len(FORMATS))
        self.format_starts, self.format_drops = starts, drops

    # --- facts about (person, item) pairs, shared by rules and reasons -------------------

    def is_completed(self, person: np.ndarray, item: np.ndarray) -> np.ndarray:
        return self.completed.contains(person, item)

    def covers(
        self, person: np.ndarray, item: np.ndarray, margin: float = 0.0, thin_margin: float = 0.0
    ) -> np.ndarray:
        """The person's expected levels reach every skill the item teaches at the level
        taught, less ``margin`` plus ``thin_margin`` × (1 − confidence of the evidence);
        content that teaches no skill is never covered."""
        owner, pos = self.item_skills.expand(item)
        skill, taught = self.item_skills.col[pos], self.item_skills.val[pos]
        who = person[owner]
        band = margin + thin_margin * (1.0 - self.confidence[who, skill])
        short = self.level[who, skill] + band < taught
        missing = np.bincount(owner, weights=short, minlength=len(item))
        return (self.item_skills.counts(item) > 0) & (missing == 0)

    def prerequisite_state(
        self, person: np.ndarray, item: np.ndarray, config: RankingConfig
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(owner pair, prerequisite item, met by completion, met by skill) per prerequisite.
        Met by skill reads levels as the mastery rule does (``config.mastery_margin`` and
        its thin-evidence widening): a prerequisite the person is taken to master is never
        recommended to them, so it must not block what comes after it either."""
        owner, pos = self.prerequisites.expand(item)
        required = self.prerequisites.col[pos]
        by_completion = self.is_completed(person[owner], required)
        by_skill = self.covers(
            person[owner], required, config.mastery_margin, config.mastery_margin_thin_evidence
        )
        return owner, required, by_completion, by_skill

    def next_level(self, person: np.ndarray, skill: np.ndarray) -> np.ndarray:
        return np.minimum(np.floor(self.level[person, skill]) + 1, MAX_LEVEL)

    def gap_skills(self, person: np.ndarray, item: np.ndarray) -> pd.DataFrame:
        """One row per (pair, taught skill the person lacks for their role) where the item
        teaches above the person's expected level: teaching below it closes nothing."""
        owner, pos = self.item_skills.expand(item)
        skill, taught = self.item_skills.col[pos], self.item_skills.val[pos]
        p = person[owner]
        gap = self.gap.get(p, skill)
        keep = (gap > 0) & (taught > self.level[p, skill])
        p, skill, taught, owner = p[keep], skill[keep], taught[keep], owner[keep]
        return pd.DataFrame(
            {
                "pair": owner,
                "skill": skill,
                "from_level": self.level[p, skill],
                "to_level": taught,
                "gap": gap[keep],
                "weighted_gap": self.weighted_gap.get(p, skill),
                "next_level": taught == self.next_level(p, skill),
            }
        )

    def dropped_format(self, config: RankingConfig) -> np.ndarray:
        share = self.format_drops / np.maximum(self.format_starts, 1)
        return (self.format_drops >= config.dropped_min_items) & (share >= config.dropped_min_share)
