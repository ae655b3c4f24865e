"""The rules on top of the scores: filters (completed, mastered, prerequisites not met),
score adjustments (level fit, format preference and drop-off) and the per-skill cap with
the cut to ``k``, in that order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.ranking.config import RankingConfig
from ml.ranking.context import Pairs, RankingContext


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
        owner, _, by_completion, by_skill = ctx.prerequisite_state(pairs.person, pairs.item)
        unmet = np.bincount(owner, weights=~(by_completion | by_skill), minlength=len(pairs.item))
        pairs = pairs.take(unmet == 0)
    return pairs


def adjust(ctx: RankingContext, pairs: Pairs, config: RankingConfig, personalised: bool) -> Pairs:
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
    return Pairs(pairs.person, pairs.item, score)


def diversify_and_cut(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> Pairs:
    """Best first per person; an item is dropped when ``max_per_skill`` better-ranked
    candidates already teach one of its skills, which guarantees the cap in the final
    list without a per-person loop."""
    order = np.lexsort((ctx.item_order[pairs.item], -pairs.score, pairs.person))
    pairs = Pairs(pairs.person[order], pairs.item[order], pairs.score[order])
    if config.max_per_skill is not None and len(pairs.item):
        owner, pos = ctx.item_skills.expand(pairs.item)
        taught = pd.DataFrame({"person": pairs.person[owner], "skill": ctx.item_skills.col[pos]})
        before = taught.groupby(["person", "skill"], sort=False).cumcount().to_numpy()
        over = np.bincount(owner, weights=before >= config.max_per_skill, minlength=len(order))
        pairs = pairs.take(over == 0)
    position = pd.Series(pairs.person).groupby(pairs.person, sort=False).cumcount().to_numpy()
    return pairs.take(position < config.k)


def rank_pairs(
    ctx: RankingContext, pairs: Pairs, config: RankingConfig, personalised: bool
) -> Pairs:
    pairs = apply_filters(ctx, pairs, config)
    pairs = adjust(ctx, pairs, config, personalised)
    return diversify_and_cut(ctx, pairs, config)
