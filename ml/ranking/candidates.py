"""Where a person's candidates come from: the model's top scores, or the role path
(content for the skills the role lacks, then what the organisation completes most)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from ml.ranking.config import RankingConfig
from ml.ranking.context import PERSONALISED, ROLE_PATH, Pairs, RankingContext


class Scorer(Protocol):
    """docs/architecture.md, "Recommender ↔ ranking"."""

    item_ids: np.ndarray

    def score(self, person_keys: Sequence[str]) -> np.ndarray: ...


def model_candidates(
    ctx: RankingContext,
    scorer: Scorer,
    persons: np.ndarray,
    n_candidates: int,
    config: RankingConfig,
) -> Pairs:
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
    return Pairs.concat(chunks)


def _top_candidates(scores: np.ndarray, persons: np.ndarray, item: np.ndarray, n: int) -> Pairs:
    """Top ``n`` columns per row, with the row's scores min-max scaled over them."""
    n = min(n, scores.shape[1])
    if n == 0:
        return Pairs.of(np.array([], int), np.array([], int), np.array([], float), PERSONALISED)
    top = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    top_scores = np.take_along_axis(scores, top, axis=1).astype(np.float64)
    finite = np.isfinite(top_scores)
    masked = np.where(finite, top_scores, np.nan)
    with np.errstate(all="ignore"):
        lo, hi = np.nanmin(masked, axis=1, keepdims=True), np.nanmax(masked, axis=1, keepdims=True)
        scaled = np.where(hi > lo, (masked - lo) / (hi - lo), 1.0)
    rows = np.repeat(persons, n).reshape(len(persons), n)
    return Pairs.of(rows[finite], item[top][finite], scaled[finite], PERSONALISED)


def role_path_candidates(ctx: RankingContext, persons: np.ndarray, config: RankingConfig) -> Pairs:
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
    return Pairs.of(person[~first], item[~first], score[~first], ROLE_PATH)
