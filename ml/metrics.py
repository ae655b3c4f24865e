"""Ranking metrics over score matrices and top-k index arrays, vectorised with numpy.

Every approach (the model and each baseline) is reduced to a float score matrix
(persons × items), so one implementation judges them all. Definitions follow
``lightfm.evaluation`` where it has the metric, so numbers are comparable with the
literature and cross-checked in tests:

- items a person interacted with in training are excluded from their ranking;
- precision@k = hits in the top k / k; recall@k = hits / number of hold-out positives;
- AUC = share of (positive, negative) pairs ordered correctly, ties counted as errors;
- NDCG@k with binary gains, ideal DCG over min(k, positives);
- MAP@k = sum of precision at each hit rank / min(k, positives).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

CHUNK = 2048


def top_k(scores: np.ndarray, k: int, exclude: sp.csr_matrix | None = None) -> np.ndarray:
    """Indices of the k best items per row, best first; excluded items never appear
    (rows with fewer than k candidates are padded with -1)."""
    n_rows, n_items = scores.shape
    k = min(k, n_items)
    out = np.empty((n_rows, k), dtype=np.int64)
    for start in range(0, n_rows, CHUNK):
        block = np.array(scores[start : start + CHUNK], dtype=np.float32, copy=True)
        if exclude is not None:
            sub = exclude[start : start + CHUNK].tocoo()
            block[sub.row, sub.col] = -np.inf
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        vals = np.take_along_axis(block, part, axis=1)
        order = np.lexsort((part, -vals), axis=1)  # ties broken by item index: deterministic
        best = np.take_along_axis(part, order, axis=1)
        best[np.take_along_axis(vals, order, axis=1) == -np.inf] = -1
        out[start : start + CHUNK] = best
    return out


def hits(top: np.ndarray, positives: sp.csr_matrix) -> np.ndarray:
    """Boolean (rows × k): is the item at each rank a hold-out positive?"""
    rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
    cols = top.ravel()
    valid = cols >= 0
    found = np.zeros(rows.shape, dtype=bool)
    found[valid] = np.asarray(positives[rows[valid], cols[valid]]).ravel() > 0
    return found.reshape(top.shape)


def precision_at_k(hit: np.ndarray, k: int) -> np.ndarray:
    return hit[:, :k].sum(axis=1) / k


def recall_at_k(hit: np.ndarray, n_positives: np.ndarray) -> np.ndarray:
    return hit.sum(axis=1) / np.maximum(n_positives, 1)


def ndcg_at_k(hit: np.ndarray, n_positives: np.ndarray) -> np.ndarray:
    discounts = 1.0 / np.log2(np.arange(hit.shape[1]) + 2)
    dcg = (hit * discounts).sum(axis=1)
    ideal = np.cumsum(discounts)[np.clip(np.minimum(n_positives, hit.shape[1]) - 1, 0, None)]
    return np.where(n_positives > 0, dcg / ideal, 0.0)


def map_at_k(hit: np.ndarray, n_positives: np.ndarray) -> np.ndarray:
    ranks = np.arange(1, hit.shape[1] + 1)
    precision_at_rank = np.cumsum(hit, axis=1) / ranks
    denom = np.maximum(np.minimum(n_positives, hit.shape[1]), 1)
    return (precision_at_rank * hit).sum(axis=1) / denom


def auc(
    scores: np.ndarray, positives: sp.csr_matrix, exclude: sp.csr_matrix | None = None
) -> np.ndarray:
    """Per-row AUC among the non-excluded items (0.5 when a row has no positive or no
    negative, as lightfm does)."""
    n_rows = scores.shape[0]
    out = np.full(n_rows, 0.5)
    for start in range(0, n_rows, CHUNK):
        stop = min(start + CHUNK, n_rows)
        block = np.asarray(scores[start:stop], dtype=np.float32)
        pos = positives[start:stop].toarray() > 0
        excl = exclude[start:stop].toarray() > 0 if exclude is not None else np.zeros_like(pos)
        neg = ~pos & ~excl
        # negatives first among equal scores, so a tie counts as an ordering error
        by_label = np.argsort(pos, axis=1, kind="stable")
        by_score = np.argsort(-np.take_along_axis(block, by_label, axis=1), axis=1, kind="stable")
        order = np.take_along_axis(by_label, by_score, axis=1)
        neg_sorted = np.take_along_axis(neg, order, axis=1)
        pos_sorted = np.take_along_axis(pos, order, axis=1)
        negatives_above = np.cumsum(neg_sorted, axis=1)
        n_pos = pos.sum(axis=1)
        n_neg = neg.sum(axis=1)
        errors = (negatives_above * pos_sorted).sum(axis=1)
        ok = (n_pos > 0) & (n_neg > 0)
        out[start:stop][ok] = 1.0 - errors[ok] / (n_pos[ok] * n_neg[ok])
    return out


def exposure(top: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists show each item (``top``: item indices per row, -1 for none)."""
    return np.bincount(top[top >= 0].ravel(), minlength=n_items)


def catalogue_coverage(counts: np.ndarray) -> float:
    """Share of the items (``counts``: exposure per item) shown in at least one list."""
    return float((counts > 0).mean()) if counts.size else 0.0


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of exposure over the items: 0 when every item is shown equally
    often, towards 1 when a few items take every slot (0 when nothing is shown)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = x.size, x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float(2 * np.sum(np.arange(1, n + 1) * x) / (n * total) - (n + 1) / n)


def gap_hits(top: np.ndarray, teaches_gap: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Per row: recommended items that teach a skill the person lacks for their role, and
    recommended items (gap coverage = their ratio, pooled or per person)."""
    return hits(top, teaches_gap).sum(axis=1), (top >= 0).sum(axis=1)


def list_metrics(top: np.ndarray, positives: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Every ranking metric a list alone determines, per row (AUC needs the scores)."""
    hit = hits(top, positives)
    n_pos = np.asarray(positives.getnnz(axis=1))
    return {
        f"precision_at_{k}": precision_at_k(hit, k),
        f"recall_at_{k}": recall_at_k(hit, n_pos),
        f"ndcg_at_{k}": ndcg_at_k(hit, n_pos),
        f"map_at_{k}": map_at_k(hit, n_pos),
    }


def per_person(
    scores: np.ndarray, positives: sp.csr_matrix, exclude: sp.csr_matrix | None, k: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every ranking metric per row, and the top-k indices they were computed from."""
    top = top_k(scores, k, exclude)
    values = list_metrics(top, positives, k)
    values["auc"] = auc(scores, positives, exclude)
    return values, top


def paired_bootstrap(
    model: np.ndarray,
    baselines: np.ndarray,
    n_boot: int,
    confidence: float,
    seed: int,
    batch: int = 100,
) -> tuple[float, float, float]:
    """Mean of ``model`` minus the best mean among ``baselines`` (rows: approaches;
    columns: the same persons as ``model``), with a percentile interval from resampling
    persons (paired: one resample draws the same persons for every approach).

    The best baseline is chosen inside each resample, so the interval carries the
    optimism of picking the stronger one. Deterministic under ``seed``; resamples are
    drawn in batches so memory stays at ``batch`` × persons indices."""
    model = np.asarray(model, dtype=np.float64)
    baselines = np.atleast_2d(np.asarray(baselines, dtype=np.float64))
    n = model.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    diffs = []
    for start in range(0, n_boot, batch):
        idx = rng.integers(0, n, size=(min(batch, n_boot - start), n))
        diffs.append(model[idx].mean(axis=1) - baselines[:, idx].mean(axis=2).max(axis=0))
    tail = (1 - confidence) / 2
    low, high = np.quantile(np.concatenate(diffs), [tail, 1 - tail])
    return float(model.mean() - baselines.mean(axis=1).max()), float(low), float(high)
