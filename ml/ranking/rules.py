"""The rules on top of the scores: filters (completed, mastered, prerequisites not met),
score adjustments (level fit, format preference and drop-off), then near-duplicates, the
per-skill cap and the cut to ``k``, in that order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.ranking.config import RankingConfig
from ml.ranking.context import PERSONALISED, ROLE_PATH, Pairs, RankingContext


def apply_filters(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> Pairs:
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
        owner, _, by_completion, by_skill = ctx.prerequisite_state(pairs.person, pairs.item, config)
        unmet = np.bincount(owner, weights=~(by_completion | by_skill), minlength=len(pairs.item))
        pairs = pairs.take(unmet == 0)
    return pairs


def adjust(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> Pairs:
    """Level fit for every pair; format preference and drop-off only for personalised
    ones (the role path uses no behavioural signal)."""
    score = pairs.score.astype(np.float64).copy()
    if config.level_fit:
        fit = ctx.gap_skills(pairs.person, pairs.item)
        hits = fit.loc[fit["next_level"], "pair"].unique()
        score[hits] += config.level_fit_weight
    personal = pairs.tier == PERSONALISED
    if personal.any():
        fmt = ctx.format_code[pairs.item]
        known = (fmt >= 0) & personal
        if config.format_preference:
            aff = ctx.affinity[pairs.person[known], fmt[known]]
            delta = np.nan_to_num(aff - ctx.mean_affinity[pairs.person[known]])
            score[known] += config.format_weight * delta
        if config.demote_dropped_formats:
            dropped = ctx.dropped_format(config)[pairs.person[known], fmt[known]]
            score[np.flatnonzero(known)[dropped]] -= config.dropped_format_penalty
    return pairs.with_score(score)


def score_range(config: RankingConfig, tier: int) -> tuple[float, float]:
    """The lowest and highest score the candidates and ``adjust`` can give in a tier:
    model candidates are scaled to [0, 1] per person, role-path ones lie in [0, 2) (gap
    content above 1, popular content below); the rules then add or take their weights
    (a format's completion rate differs from the person's mean by at most 1)."""
    fit = config.level_fit_weight if config.level_fit else 0.0
    if tier == ROLE_PATH:
        return 0.0, 2.0 + fit
    preference = config.format_weight if config.format_preference else 0.0
    dropped = config.dropped_format_penalty if config.demote_dropped_formats else 0.0
    return -preference - dropped, 1.0 + fit + preference


def diversify_and_cut(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> Pairs:
    """Best first per person (``list_order``); near-duplicates of a better-ranked item
    are dropped, then an item is dropped when ``max_per_skill`` better-ranked candidates
    already teach one of its skills, which guarantees the cap in the final list without
    a per-person loop."""
    pairs = pairs.take(list_order(ctx, pairs))
    if config.skip_near_duplicates and len(pairs.item):
        pairs = pairs.take(_first_of_near_duplicates(ctx, pairs))
    if config.max_per_skill is not None and len(pairs.item):
        owner, pos = ctx.item_skills.expand(pairs.item)
        taught = pd.DataFrame({"person": pairs.person[owner], "skill": ctx.item_skills.col[pos]})
        before = taught.groupby(["person", "skill"], sort=False).cumcount().to_numpy()
        over = np.bincount(owner, weights=before >= config.max_per_skill, minlength=len(pairs.item))
        pairs = pairs.take(over == 0)
    position = pd.Series(pairs.person).groupby(pairs.person, sort=False).cumcount().to_numpy()
    return pairs.take(position < config.k)


def list_order(ctx: RankingContext, pairs: Pairs) -> np.ndarray:
    """The order of every list: person, tier, best score first, content_id on ties."""
    return np.lexsort((ctx.item_order[pairs.item], -pairs.score, pairs.tier, pairs.person))


def _first_of_near_duplicates(ctx: RankingContext, pairs: Pairs) -> np.ndarray:
    """Which pairs (best first per person) stay: an item stays unless a better-ranked item
    that stays is its near-duplicate (``RankingContext.same_title``, ``same_skills``).
    Decided in rounds, each settling at least every person's first open item, so a
    dropped copy never takes a third item down with it; lists have a few copies at most,
    so the rounds are few."""
    width = 2 * len(ctx.content_ids) + 1  # group ids run from -len(content) upwards
    keys = [
        pairs.person.astype(np.int64) * width + group[pairs.item] + len(ctx.content_ids)
        for group in (ctx.same_title, ctx.same_skills)
    ]
    position = np.arange(len(pairs.item))

    def after_one_of(among: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(position), dtype=bool)
        for key in keys:
            first = pd.Series(position[among]).groupby(key[among]).min()
            hit |= first.reindex(key).to_numpy(dtype=float, na_value=np.inf) < position
        return hit

    kept = np.zeros(len(position), dtype=bool)
    open_ = np.ones(len(position), dtype=bool)
    while open_.any():
        open_ &= ~after_one_of(kept)
        settled = open_ & ~after_one_of(open_ | kept)
        kept |= settled
        open_ &= ~settled
    return kept


def rank_pairs(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> Pairs:
    pairs = apply_filters(ctx, pairs, config)
    pairs = adjust(ctx, pairs, config)
    return diversify_and_cut(ctx, pairs, config)
