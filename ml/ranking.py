"""From model scores to each person's next learning steps.

The model is good at "people like you finished this"; it knows nothing of what a person
already masters, what they must take first, or that ten items on one skill is a poor
list. Those are rules, applied here on top of the scores, each switchable in
:class:`RankingConfig` so that a data scientist can measure what each one costs or buys.

Work happens on candidate lists, never per person over the whole catalogue: the model's
top ``candidates`` items per person (``np.argpartition`` on a chunk of the score
matrix), or, for the non-personalised role path, the items that teach a skill the person
lacks for their role plus the organisation's most completed items. Every rule is then a
vectorised operation over (person, item) pairs.

Persons who opted out of personalisation (``dim_employee.opted_out``), and everyone when
there is no model, get the role path: the same rules, the same number of items, but no
model score and no behavioural signal (format affinity, colleagues) — only their role's
requirements, their own skill levels (where their evidence is thin, what people in their
role hold: ``ml.skill_prior``) and completions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from ml.data import Marts
from ml.dataset import mandatory_content
from ml.reasons import Evidence, explain
from ml.skill_prior import expected_gaps, skill_levels

FORMATS = ("video", "article", "course", "workshop", "podcast", "microlearning", "interactive")
MAX_LEVEL = 5


class Scorer(Protocol):
    """docs/architecture.md, "Recommender ↔ ranking"."""

    item_ids: np.ndarray

    def score(self, person_keys: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class RankingConfig:
    """Every rule can be switched off to measure its effect; weights are added to the
    person's model scores after min-max scaling to [0, 1] over their candidates, so a
    weight of 0.2 moves an item by a fifth of that person's score range."""

    k: int = 10
    candidates: int = 100
    exclude_completed: bool = True
    skip_mastered: bool = True
    # held within half a level counts as mastered: levels are whole numbers, an expected
    # 2.6 reads as level 3; the band widens by up to a quarter level as the evidence
    # thins, where expected levels are least sure (ml/README.md, "Mastered content")
    mastery_margin: float = 0.5
    mastery_margin_thin_evidence: float = 0.25
    require_prerequisites: bool = True
    level_fit: bool = True
    level_fit_weight: float = 0.15
    format_preference: bool = True
    format_weight: float = 0.3
    preferred_format_margin: float = 0.1
    demote_dropped_formats: bool = True
    dropped_format_penalty: float = 0.25
    dropped_min_items: int = 2
    dropped_min_share: float = 0.5
    max_per_skill: int | None = 3
    colleague_min_group: int = 5
    colleague_min_share: float = 0.1
    chunk_size: int = 2048

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"RankingConfig.k must be >= 1, got {self.k}")
        if self.candidates < self.k:
            raise ValueError(
                f"RankingConfig.candidates ({self.candidates}) must be >= k ({self.k}): "
                "the rules need at least k candidates per person to choose from"
            )
        if self.max_per_skill is not None and self.max_per_skill < 1:
            raise ValueError("RankingConfig.max_per_skill must be >= 1, or None to disable")
        if self.chunk_size < 1:
            raise ValueError("RankingConfig.chunk_size must be >= 1")


@dataclass(frozen=True)
class _Csr:
    """Rows of variable length (an item's skills, an item's prerequisites) as flat arrays,
    so that pairs can be expanded to (pair, element) rows without Python loops."""

    ptr: np.ndarray
    col: np.ndarray
    val: np.ndarray

    @classmethod
    def build(cls, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int) -> _Csr:
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
class _PairLookup:
    """A sparse (person, other) → value table searched by encoded key, so a person's
    gap is looked up for millions of pairs at once."""

    keys: np.ndarray
    values: np.ndarray
    width: int

    @classmethod
    def build(cls, a: np.ndarray, b: np.ndarray, values: np.ndarray, width: int) -> _PairLookup:
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


def _bool(series: pd.Series, default: bool) -> np.ndarray:
    return series.astype("boolean").fillna(default).to_numpy(dtype=bool)


@dataclass(frozen=True)
class _Pairs:
    person: np.ndarray
    item: np.ndarray
    score: np.ndarray

    def take(self, mask: np.ndarray) -> _Pairs:
        return _Pairs(self.person[mask], self.item[mask], self.score[mask])


class RankingContext:
    """Everything the rules need, indexed once from the marts: persons and content as
    integer positions, skills of content and prerequisites as CSR rows, expected levels
    as a dense (persons × skills) array and gaps as sparse lookups."""

    def __init__(self, marts: Marts) -> None:
        emp = marts.employees
        self.person_keys = emp["person_key"].astype(str).to_numpy()
        self.person_pos = pd.Index(self.person_keys)
        self.opted_out = _bool(emp["opted_out"], False)
        self.active_person = _bool(emp["is_active"], False)
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
        self.eligible_item = _bool(content["is_active"], False) & ~self.content_pos.isin(
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
        self.item_skills = _Csr.build(
            ci[ok], si[ok], cs["level_taught"].to_numpy(dtype=float)[ok], len(self.content_ids)
        )

        pr = marts.prerequisites
        pi = self.content_pos.get_indexer(pr["content_id"].astype(str))
        ri = self.content_pos.get_indexer(pr["requires_content_id"].astype(str))
        ok = (pi >= 0) & (ri >= 0) & (pi != ri)
        self.prerequisites = _Csr.build(pi[ok], ri[ok], np.ones(ok.sum()), len(self.content_ids))

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
        self.gap = _PairLookup.build(p[ok], s[ok], gap[ok], len(self.skill_ids))
        self.weighted_gap = _PairLookup.build(p[ok], s[ok], weighted[ok], len(self.skill_ids))
        self.gap_person, self.gap_skill = p[ok], s[ok]
        self.gap_weight = weighted[ok]

        eng = marts.engagement
        p = self.person_pos.get_indexer(eng["person_key"].astype(str))
        i = self.content_pos.get_indexer(eng["content_id"].astype(str))
        done = _bool(eng["is_completed"], False) | _bool(eng["is_passed"], False)
        ok = (p >= 0) & (i >= 0)
        self.completed = _PairLookup.build(
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
        dropped = _bool(eng["dropped_early"], False)[valid]
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
        self, person: np.ndarray, item: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(owner pair, prerequisite item, met by completion, met by skill) per prerequisite."""
        owner, pos = self.prerequisites.expand(item)
        required = self.prerequisites.col[pos]
        by_completion = self.is_completed(person[owner], required)
        by_skill = self.covers(person[owner], required)
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


# --- rules ---------------------------------------------------------------------------------


def _apply_filters(ctx: RankingContext, pairs: _Pairs, config: RankingConfig) -> _Pairs:
    keep = ctx.eligible_item[pairs.item]
    if config.exclude_completed:
        keep &= ~ctx.is_completed(pairs.person, pairs.item)
    pairs = pairs.take(keep)
    if config.skip_mastered:
        covered = ctx.covers(
            pairs.person, pairs.item, config.mastery_margin, config.mastery_margin_thin_evidence
        )
        pairs = pairs.take(~covered)
    if config.require_prerequisites:
        owner, _, by_completion, by_skill = ctx.prerequisite_state(pairs.person, pairs.item)
        unmet = np.bincount(owner, weights=~(by_completion | by_skill), minlength=len(pairs.item))
        pairs = pairs.take(unmet == 0)
    return pairs


def _adjust(
    ctx: RankingContext, pairs: _Pairs, config: RankingConfig, personalised: bool
) -> _Pairs:
    score = pairs.score.astype(np.float64).copy()
    if config.level_fit:
        fit = ctx.gap_skills(pairs.person, pairs.item)
        hits = fit.loc[fit["next_level"], "pair"].unique()
        score[hits] += config.level_fit_weight
    if personalised:
        fmt = ctx.format_code[pairs.item]
        known = fmt >= 0
        if config.format_preference:
            aff = ctx.affinity[pairs.person[known], fmt[known]]
            delta = np.nan_to_num(aff - ctx.mean_affinity[pairs.person[known]])
            score[known] += config.format_weight * delta
        if config.demote_dropped_formats:
            dropped = ctx.dropped_format(config)[pairs.person[known], fmt[known]]
            score[np.flatnonzero(known)[dropped]] -= config.dropped_format_penalty
    return _Pairs(pairs.person, pairs.item, score)


def _diversify_and_cut(ctx: RankingContext, pairs: _Pairs, config: RankingConfig) -> _Pairs:
    """Best first per person; an item is dropped when ``max_per_skill`` better-ranked
    candidates already teach one of its skills, which guarantees the cap in the final
    list without a per-person loop."""
    order = np.lexsort((ctx.item_order[pairs.item], -pairs.score, pairs.person))
    pairs = _Pairs(pairs.person[order], pairs.item[order], pairs.score[order])
    if config.max_per_skill is not None and len(pairs.item):
        owner, pos = ctx.item_skills.expand(pairs.item)
        taught = pd.DataFrame({"person": pairs.person[owner], "skill": ctx.item_skills.col[pos]})
        before = taught.groupby(["person", "skill"], sort=False).cumcount().to_numpy()
        over = np.bincount(owner, weights=before >= config.max_per_skill, minlength=len(order))
        pairs = pairs.take(over == 0)
    position = pd.Series(pairs.person).groupby(pairs.person, sort=False).cumcount().to_numpy()
    return pairs.take(position < config.k)


def _rank(ctx: RankingContext, pairs: _Pairs, config: RankingConfig, personalised: bool) -> _Pairs:
    pairs = _apply_filters(ctx, pairs, config)
    pairs = _adjust(ctx, pairs, config, personalised)
    return _diversify_and_cut(ctx, pairs, config)


# --- candidate generation -------------------------------------------------------------------


def _model_candidates(
    ctx: RankingContext,
    scorer: Scorer,
    persons: np.ndarray,
    n_candidates: int,
    config: RankingConfig,
) -> _Pairs:
    item = ctx.content_pos.get_indexer(pd.Index(np.asarray(scorer.item_ids).astype(str)))
    columns = np.flatnonzero((item >= 0) & ctx.eligible_item[np.where(item >= 0, item, 0)])
    item = item[columns]
    column_of = np.full(len(ctx.content_ids), -1)
    column_of[item] = np.arange(len(item))
    chunks = []
    for start in range(0, len(persons), config.chunk_size):
        chunk = persons[start : start + config.chunk_size]
        scores = np.asarray(scorer.score(list(ctx.person_keys[chunk])), dtype=np.float32)
        if scores.shape != (len(chunk), len(scorer.item_ids)):
            raise ValueError(
                f"scorer returned shape {scores.shape}, expected "
                f"({len(chunk)}, {len(scorer.item_ids)}): it breaks the Scorer protocol"
            )
        scores = scores[:, columns]
        if config.exclude_completed:
            done = (
                ctx.completed.keys // ctx.completed.width,
                ctx.completed.keys % ctx.completed.width,
            )
            row = pd.Index(chunk).get_indexer(done[0])
            col = column_of[done[1]]
            hit = (row >= 0) & (col >= 0)
            scores[row[hit], col[hit]] = -np.inf
        chunks.append(_top_candidates(scores, chunk, item, n_candidates))
    return _Pairs(*(np.concatenate([getattr(c, f) for c in chunks]) for f in _PAIR_FIELDS))


_PAIR_FIELDS = ("person", "item", "score")


def _top_candidates(scores: np.ndarray, persons: np.ndarray, item: np.ndarray, n: int) -> _Pairs:
    """Top ``n`` columns per row, with the row's scores min-max scaled over them."""
    n = min(n, scores.shape[1])
    if n == 0:
        return _Pairs(np.array([], int), np.array([], int), np.array([], float))
    top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    top_scores = np.take_along_axis(scores, top, axis=1).astype(np.float64)
    finite = np.isfinite(top_scores)
    masked = np.where(finite, top_scores, np.nan)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(masked, axis=1, keepdims=True), np.nanmax(masked, axis=1, keepdims=True)
        scaled = np.where(hi > lo, (masked - lo) / (hi - lo), 1.0)
    rows = np.repeat(persons, n).reshape(len(persons), n)
    return _Pairs(rows[finite], item[top][finite], scaled[finite])


def _role_path_candidates(
    ctx: RankingContext, persons: np.ndarray, config: RankingConfig
) -> _Pairs:
    """Content teaching a skill the person lacks for their role, most important gap first
    (scores in (1, 2)), then the organisation's most completed content (scores in [0, 1))
    so that a person without gaps still gets a full list."""
    wanted = np.isin(ctx.gap_person, persons)
    gaps = pd.DataFrame(
        {
            "person": ctx.gap_person[wanted],
            "skill": ctx.gap_skill[wanted],
            "w": ctx.gap_weight[wanted],
        }
    )
    taught = pd.DataFrame(
        {
            "item": np.repeat(np.arange(len(ctx.content_ids)), np.diff(ctx.item_skills.ptr)),
            "skill": ctx.item_skills.col,
        }
    )
    taught = taught[ctx.eligible_item[taught["item"].to_numpy()]]
    gap_pairs = (
        gaps.merge(taught, on="skill").groupby(["person", "item"], as_index=False)["w"].max()
    )
    w = gap_pairs["w"].to_numpy(dtype=float)
    gap_score = 1.0 + w / (1.0 + np.abs(w))

    active = np.flatnonzero(ctx.eligible_item)
    popular = active[np.lexsort((ctx.item_order[active], -ctx.popularity[active]))]
    popular = popular[: config.candidates]
    pop = ctx.popularity[popular]
    pop_score = 0.99 * pop / pop.max() if len(pop) and pop.max() > 0 else np.zeros(len(pop))
    fill_person = np.repeat(persons, len(popular))
    fill_item = np.tile(popular, len(persons))
    fill_score = np.tile(pop_score, len(persons))

    person = np.concatenate([gap_pairs["person"].to_numpy(), fill_person])
    item = np.concatenate([gap_pairs["item"].to_numpy(), fill_item])
    score = np.concatenate([gap_score, fill_score])
    first = pd.DataFrame({"p": person, "i": item}).duplicated().to_numpy()
    return _Pairs(person[~first], item[~first], score[~first])


# --- public API -----------------------------------------------------------------------------


def recommend(
    marts: Marts, scorer: Scorer | None, config: RankingConfig | None = None
) -> pd.DataFrame:
    """Top ``k`` per active employee: person_key, rank, content_id, score, personalised,
    reasons (JSON list), reason_text. Personalised when there is a model and the person has
    not opted out; otherwise the role path (``personalised = False``)."""
    config = config or RankingConfig()
    ctx = RankingContext(marts)
    return _finish(ctx, _lists(ctx, scorer, np.flatnonzero(ctx.active_person), config), config)


def ranked_lists(
    ctx: RankingContext, scorer: Scorer | None, person_keys: Sequence[str], config: RankingConfig
) -> pd.DataFrame:
    """The lists ``recommend`` publishes, for ``person_keys`` (active or not) and without
    reasons: person_key, rank, content_id, score, personalised. The evaluation ranks each
    approach's scores through this, so what it judges is what would be published."""
    persons = ctx.person_pos.get_indexer(pd.Index(person_keys, dtype=object))
    if (persons < 0).any():
        raise KeyError(f"{int((persons < 0).sum())} person(s) not in the ranking's marts")
    frame = _frame(_lists(ctx, scorer, persons, config))
    frame["person_key"] = ctx.person_keys[frame["person"].to_numpy()]
    frame["content_id"] = ctx.content_ids[frame["item"].to_numpy()]
    return frame[["person_key", "rank", "content_id", "score", "personalised"]]


def _lists(
    ctx: RankingContext, scorer: Scorer | None, persons: np.ndarray, config: RankingConfig
) -> list[tuple[_Pairs, bool]]:
    """Ranked pairs of ``persons`` (positions), each part with its ``personalised`` flag:
    the model's lists, their role-path top-up, and the role path of everyone else."""
    wants_model = ~ctx.opted_out[persons] if scorer is not None else np.zeros(len(persons), bool)
    personal = persons[wants_model]
    ranked = _rank_personalised(ctx, scorer, personal, config) if scorer is not None else _EMPTY
    short = _short_of_k(ranked, personal, config.k)
    role = _rank(ctx, _role_path_candidates(ctx, persons[~wants_model], config), config, False)
    top_up = _rank(ctx, _role_path_candidates(ctx, short, config), config, False)
    return [(ranked, True), (_top_up(ctx, ranked, top_up, config), False), (role, False)]


def _rank_personalised(
    ctx: RankingContext, scorer: Scorer, persons: np.ndarray, config: RankingConfig
) -> _Pairs:
    """When the rules leave a person fewer than k of their top candidates, rank their
    whole catalogue instead: rare, and still vectorised."""
    ranked = _rank(
        ctx, _model_candidates(ctx, scorer, persons, config.candidates, config), config, True
    )
    short = _short_of_k(ranked, persons, config.k)
    if not len(short) or config.candidates >= len(ctx.content_ids):
        return ranked
    retry = _model_candidates(ctx, scorer, short, len(ctx.content_ids), config)
    return _concat([ranked.take(~np.isin(ranked.person, short)), _rank(ctx, retry, config, True)])


_EMPTY = _Pairs(np.array([], np.int64), np.array([], np.int64), np.array([], np.float64))


def _short_of_k(pairs: _Pairs, persons: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(pairs.person, minlength=int(persons.max(initial=-1)) + 1)
    return persons[counts[persons] < k]


def _concat(parts: list[_Pairs]) -> _Pairs:
    return _Pairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in _PAIR_FIELDS))


def _top_up(ctx: RankingContext, personal: _Pairs, role: _Pairs, config: RankingConfig) -> _Pairs:
    """Role-path items for persons whose personalised list ran short: ranked after their
    personalised items, never repeating one, and under the same per-skill cap."""
    if not len(role.person):
        return role
    width = len(ctx.content_ids)
    mine = np.isin(personal.person, role.person)
    first = personal.take(mine)
    taken = first.person.astype(np.int64) * width + first.item
    role = role.take(~np.isin(role.person.astype(np.int64) * width + role.item, taken))
    # personalised items keep their places: lifted above any role-path score
    lifted = _Pairs(first.person, first.item, first.score + _LIFT)
    both = _diversify_and_cut(ctx, _concat([lifted, role]), config)
    return both.take(both.score < _LIFT / 2)


_LIFT = 1e6


def _frame(parts: list[tuple[_Pairs, bool]]) -> pd.DataFrame:
    """person, item, score, personalised, rank (positions; personalised items first, then
    any role-path top-up, each already best first)."""
    frames = [
        pd.DataFrame(
            {
                "person": pairs.person,
                "item": pairs.item,
                "score": pairs.score,
                "personalised": personalised,
            }
        )
        for pairs, personalised in parts
    ]
    out = pd.concat(frames, ignore_index=True)
    out["rank"] = out.groupby("person", sort=False).cumcount() + 1
    return out.sort_values(["person", "rank"], kind="stable").reset_index(drop=True)


def _finish(
    ctx: RankingContext, parts: list[tuple[_Pairs, bool]], config: RankingConfig
) -> pd.DataFrame:
    columns = [
        "person_key",
        "rank",
        "content_id",
        "score",
        "personalised",
        "reasons",
        "reason_text",
    ]
    out = _frame(parts)
    evidence = _evidence(ctx, out, config)
    reasons, text = explain(evidence)
    out["person_key"] = ctx.person_keys[out["person"].to_numpy()]
    out["content_id"] = ctx.content_ids[out["item"].to_numpy()]
    out["reasons"], out["reason_text"] = reasons, text
    return out[columns]


def _evidence(ctx: RankingContext, out: pd.DataFrame, config: RankingConfig) -> Evidence:
    person = out["person"].to_numpy()
    item = out["item"].to_numpy()
    personalised = out["personalised"].to_numpy(dtype=bool)

    gaps = ctx.gap_skills(person, item)
    gaps["skill_id"] = ctx.skill_ids[gaps["skill"].to_numpy()]
    gaps["skill_name"] = ctx.skill_names[gaps["skill"].to_numpy()]
    gaps["job_code"] = ctx.job_code[person[gaps["pair"].to_numpy()]]
    gaps["role"] = ctx.job_title[person[gaps["pair"].to_numpy()]]

    owner, required, by_completion, by_skill = ctx.prerequisite_state(person, item)
    prereqs = pd.DataFrame(
        {
            "pair": owner,
            "content_id": ctx.content_ids[required],
            "how": np.where(by_completion, "completed", "skill_covered"),
            "met": by_completion | by_skill,
        }
    )

    fmt = ctx.format_code[item]
    aff = np.where(fmt >= 0, ctx.affinity[person, np.maximum(fmt, 0)], np.nan)
    preferred = personalised & (aff >= ctx.mean_affinity[person] + config.preferred_format_margin)

    job = ctx.job_code[person]
    size = ctx.role_size.reindex(job).to_numpy(dtype=float, na_value=0.0)
    self_counted = ctx.active_person[person] & ~ctx.opted_out[person]
    colleagues = size - self_counted
    done = ctx.role_completions.reindex(pd.MultiIndex.from_arrays([job, item])).to_numpy(
        dtype=float, na_value=0.0
    )
    with np.errstate(all="ignore"):
        share = np.where(colleagues > 0, done / colleagues, 0.0)
    show = (
        personalised
        & (colleagues >= config.colleague_min_group)
        & (share >= config.colleague_min_share)
    )
    return Evidence(
        personalised=personalised,
        job_code=job,
        role=ctx.job_title[person],
        gaps=gaps,
        prerequisites=prereqs,
        format=np.where(preferred, ctx.format[item], None),
        format_completion=np.where(preferred, aff, np.nan),
        colleague_share=np.where(show, share, np.nan),
        colleagues=np.where(show, colleagues, 0).astype(int),
    )
