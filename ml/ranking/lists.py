"""Each person's list: the personalised path, its role-path top-up and the role path of
everyone else, put together and explained."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ml.data import Marts
from ml.ranking.candidates import Scorer, model_candidates, role_path_candidates
from ml.ranking.config import RankingConfig
from ml.ranking.context import PERSONALISED, ROLE_PATH, Pairs, RankingContext
from ml.ranking.rules import diversify_and_cut, list_order, rank_pairs, score_range
from ml.reasons import Evidence, explain


def recommend(
    marts: Marts, scorer: Scorer | None, config: RankingConfig | None = None
) -> pd.DataFrame:
    """Top ``k`` per active employee: person_key, rank, content_id, score (0–1, see
    ``_frame``), personalised, reasons (JSON list), reason_text. Personalised when there
    is a model and the person has not opted out; otherwise the role path
    (``personalised = False``)."""
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
    frame = _frame(ctx, _lists(ctx, scorer, persons, config), config)
    frame["person_key"] = ctx.person_keys[frame["person"].to_numpy()]
    frame["content_id"] = ctx.content_ids[frame["item"].to_numpy()]
    return frame[["person_key", "rank", "content_id", "score", "personalised"]]


def _lists(
    ctx: RankingContext, scorer: Scorer | None, persons: np.ndarray, config: RankingConfig
) -> Pairs:
    """Ranked pairs of ``persons`` (positions), ``config.chunk_size`` persons at a time:
    every rule acts within one person's list, so the chunks give the same lists, while
    the candidate pairs and the rules' temporaries stay the size of a chunk (at 100,000
    persons, 100 candidates each, ranking everyone at once took several GiB)."""
    size = config.chunk_size
    chunks = [
        _chunk(ctx, scorer, persons[s : s + size], config) for s in range(0, len(persons), size)
    ]
    return Pairs.concat(chunks)


def _chunk(
    ctx: RankingContext, scorer: Scorer | None, persons: np.ndarray, config: RankingConfig
) -> Pairs:
    """The model's lists of ``persons`` (tier PERSONALISED), their role-path top-up and
    the role path of everyone else (tier ROLE_PATH)."""
    wants_model = ~ctx.opted_out[persons] if scorer is not None else np.zeros(len(persons), bool)
    personal = persons[wants_model]
    ranked = (
        _rank_personalised(ctx, scorer, personal, config)
        if scorer is not None
        else Pairs.concat([])
    )
    short = _short_of_k(ranked, personal, config.k)
    role = rank_pairs(ctx, role_path_candidates(ctx, persons[~wants_model], config), config)
    top_up = rank_pairs(ctx, role_path_candidates(ctx, short, config), config)
    return Pairs.concat([ranked, _top_up(ctx, ranked, top_up, config), role])


def _rank_personalised(
    ctx: RankingContext, scorer: Scorer, persons: np.ndarray, config: RankingConfig
) -> Pairs:
    """When the rules leave a person fewer than k of their top candidates, rank their
    whole catalogue instead: rare, and still vectorised."""
    ranked = rank_pairs(
        ctx, model_candidates(ctx, scorer, persons, config.candidates, config), config
    )
    short = _short_of_k(ranked, persons, config.k)
    if not len(short) or config.candidates >= len(ctx.content_ids):
        return ranked
    retry = model_candidates(ctx, scorer, short, len(ctx.content_ids), config)
    return Pairs.concat(
        [ranked.take(~np.isin(ranked.person, short)), rank_pairs(ctx, retry, config)]
    )


def _short_of_k(pairs: Pairs, persons: np.ndarray, k: int) -> np.ndarray:
    counts = np.bincount(pairs.person, minlength=int(persons.max(initial=-1)) + 1)
    return persons[counts[persons] < k]


def _top_up(ctx: RankingContext, personal: Pairs, role: Pairs, config: RankingConfig) -> Pairs:
    """Role-path items for persons whose personalised list ran short: in the tier after
    their personalised items, never repeating one, and under the same per-skill cap and
    near-duplicate rule (the personalised items, ranked first, keep their places)."""
    if not len(role.person):
        return role
    width = len(ctx.content_ids)
    first = personal.take(np.isin(personal.person, role.person))
    taken = first.person.astype(np.int64) * width + first.item
    role = role.take(~np.isin(role.person.astype(np.int64) * width + role.item, taken))
    both = diversify_and_cut(ctx, Pairs.concat([first, role]), config)
    return both.take(both.tier == ROLE_PATH)


def _frame(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> pd.DataFrame:
    """person, item, score, personalised, rank (positions), in list order (``list_order``:
    the personalised tier first, then any role-path items, each best first). The score
    published is the ranking's on a fixed 0–1 scale: the range its tier can produce
    (``score_range``) mapped to [0, 1], and never above an item ranked before it in the
    list, so that 1 is the best a tier can give and a lower rank never shows a higher
    score (a top-up item's own score can exceed the personalised items it follows)."""
    pairs = pairs.take(list_order(ctx, pairs))
    personal = pairs.tier == PERSONALISED
    (own_low, own_high), (role_low, role_high) = (
        score_range(config, PERSONALISED),
        score_range(config, ROLE_PATH),
    )
    low, high = np.where(personal, own_low, role_low), np.where(personal, own_high, role_high)
    out = pd.DataFrame(
        {
            "person": pairs.person,
            "item": pairs.item,
            # not clipped: a rule weight left out of score_range shows as a score out
            # of 0–1 (tests/test_ranking_rules.py), not as a silent 1
            "score": (pairs.score - low) / (high - low),
            "personalised": personal,
        }
    )
    out["rank"] = out.groupby("person", sort=False).cumcount() + 1
    out["score"] = out.groupby("person", sort=False)["score"].cummin()
    return out


def _finish(ctx: RankingContext, pairs: Pairs, config: RankingConfig) -> pd.DataFrame:
    columns = [
        "person_key",
        "rank",
        "content_id",
        "score",
        "personalised",
        "reasons",
        "reason_text",
    ]
    out = _frame(ctx, pairs, config)
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

    owner, required, by_completion, by_skill = ctx.prerequisite_state(person, item, config)
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
