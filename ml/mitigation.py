"""Exposure re-ranking: raise a group's exposure to advanced and leadership content to
that of comparable colleagues, giving up at most a bounded share of each list's relevance.

After Singh & Joachims 2018 ("Fairness of Exposure in Rankings", KDD): choose the lists
that maximise relevance subject to a group-exposure parity constraint, solved through
its Lagrangian. Adapted to this setting in three ways, each because of what the fairness
gate (``ml.fairness``) measures:

- the groups are groups of *persons* receiving lists (gender, age band, ...), not of
  items being ranked, and exposure is the share of a person's ``k`` items that are
  advanced / leadership content — the figure the gate audits;
- parity is conditioned on need as in the audit: a group's index is what it received over
  the mean of each member's job family × seniority stratum, compared with everyone else's;
- the constraint is levelling up: only groups below parity get a multiplier (a bonus for
  advanced / leadership items in their members' lists); nobody's content is taken away
  to close a gap.

Per person the problem is solved exactly. With relevance ``max(score, 0)`` and the
discounted weights ``1 / log2(1 + position)``, the most relevant list with a given number
of items of each kind (neither, advanced, leadership, both) is the best items of each
kind in score order; so every admissible list is one of at most C(k + 3, 3) candidates
(286 for k = 10), enumerated once. A list is admissible when it keeps at least
``1 - max_relevance_loss`` of the relevance of the person's unchanged list. The group
multipliers are then found by projected subgradient steps on the dual, deterministic (no
randomness anywhere), keeping the iterate with the smallest remaining shortfall — the
unchanged lists are iterate 0, so the result is never further from parity than them.

Sensitive attributes never enter here as anything but group labels handed in by the
fairness gate; nothing of them is returned but group-level figures.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

EXPOSURE_METRICS = ("exposure_advanced", "exposure_leadership")
# kinds of item: bit 0 advanced, bit 1 leadership
KINDS = 4


@dataclass(frozen=True)
class ExposureReranking:
    """The re-ranked lists and what it cost and bought. ``disparity``: per metric,
    attribute and group, the need-adjusted index and the ratio to the rest of the
    attribute, before and after (the audit's point figures). ``figures``: counts and the
    relevance kept (share of the unchanged list's discounted relevance, over persons)."""

    lists: pd.DataFrame
    disparity: pd.DataFrame
    figures: dict[str, float]


def discount(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2))


def _kind(pool: pd.DataFrame, flags: pd.DataFrame) -> tuple[np.ndarray, bool]:
    marked = flags.set_index("content_id")
    ids = pool["content_id"].astype(str)
    advanced = ids.map(marked["advanced"]).fillna(False).astype(bool).to_numpy()
    leadership = pd.to_numeric(ids.map(marked["leadership"]), errors="coerce")
    has_leadership = bool(leadership.notna().any())
    lead = leadership.fillna(0).astype(bool).to_numpy()
    return advanced.astype(np.int64) + 2 * lead.astype(np.int64), has_leadership


def _combos(k: int, kinds: list[int]) -> np.ndarray:
    """Every count vector (items of each kind) summing to k, over the kinds present."""
    out = []
    for counts in itertools.product(range(k + 1), repeat=len(kinds) - 1):
        if sum(counts) <= k:
            full = np.zeros(KINDS, np.int64)
            full[kinds[1:]] = counts
            full[kinds[0]] = k - sum(counts)
            out.append(full)
    return np.array(out)


@dataclass(frozen=True)
class _Options:
    """Per movable person (rows) and count vector (columns): the best list's relevance as
    a share of the unchanged list's, whether it is admissible, and the pool rows that make
    it up, per kind in rank order."""

    kept: np.ndarray  # (P, C) share of relevance kept, NaN where not possible
    admissible: np.ndarray  # (P, C)
    original: np.ndarray  # (P,) index of the unchanged list's count vector
    combos: np.ndarray  # (C, KINDS)
    rows: np.ndarray  # (KINDS, P, k) pool row of the j-th best item of each kind, -1 none


def _options(
    relevance: np.ndarray, kind: np.ndarray, owner: np.ndarray, n: int, k: int, loss: float
) -> _Options:
    """``relevance``, ``kind``, ``owner`` (0..n-1): the movable persons' eligible pool rows
    in rank order."""
    position = pd.Series(owner).groupby([owner, kind]).cumcount().to_numpy()
    keep = position < k
    best = np.full((KINDS, n, k), -np.inf)
    rows = np.full((KINDS, n, k), -1, np.int64)
    best[kind[keep], owner[keep], position[keep]] = relevance[keep]
    rows[kind[keep], owner[keep], position[keep]] = np.flatnonzero(keep)
    first = pd.Series(owner).groupby(owner).cumcount().to_numpy() < k
    counts = np.zeros((n, KINDS), np.int64)
    np.add.at(counts, (owner[first], kind[first]), 1)
    kinds = sorted({0, *np.unique(kind).tolist()})
    combos = _combos(k, kinds)
    weights = discount(k)
    total = np.full((n, len(combos)), np.nan)
    for c, vector in enumerate(combos):
        parts = [best[t, :, : vector[t]] for t in range(KINDS) if vector[t]]
        chosen = np.concatenate(parts, axis=1)
        possible = np.isfinite(chosen).all(axis=1)
        value = (-np.sort(-np.where(possible[:, None], chosen, 0.0), axis=1) * weights).sum(1)
        total[possible, c] = value[possible]
    lookup = {tuple(v): c for c, v in enumerate(combos)}
    original = np.array([lookup[tuple(v)] for v in counts], dtype=np.int64)
    unchanged = total[np.arange(n), original]
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = total / unchanged[:, None]
    admissible = np.isfinite(kept) & (kept >= 1.0 - loss - 1e-12)
    return _Options(kept, admissible, original, combos, rows)


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Group codes (-1: no group) and names."""
    stated = values.dropna()
    names = sorted(stated.astype(str).unique().tolist())
    position = {name: i for i, name in enumerate(names)}
    codes = values.map(lambda v: position.get(str(v), -1) if pd.notna(v) else -1)
    return codes.to_numpy(dtype=np.int64), names


@dataclass(frozen=True)
class _Groups:
    """The attributes' groups over all persons, and each person's stratum."""

    attributes: list[str]
    codes: list[np.ndarray]
    names: list[list[str]]
    stratum: np.ndarray
    strata: int

    def indices(self, exposure: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per attribute: each group's persons, need-adjusted index and ratio to the rest
        (as ``ml.fairness``: observed over the stratum means, summed)."""
        sums = np.bincount(self.stratum, weights=exposure, minlength=self.strata)
        sizes = np.bincount(self.stratum, minlength=self.strata)
        expected = (sums / np.maximum(sizes, 1))[self.stratum]
        out = []
        for codes, names in zip(self.codes, self.names, strict=True):
            stated = codes >= 0
            g = codes[stated]
            persons = np.bincount(g, minlength=len(names))
            observed = np.bincount(g, weights=exposure[stated], minlength=len(names))
            expect = np.bincount(g, weights=expected[stated], minlength=len(names))
            with np.errstate(divide="ignore", invalid="ignore"):
                index = observed / expect
                rest = (observed.sum() - observed) / (expect.sum() - expect)
                out.append((persons, index, index / rest))
        return out


def _count(combos: np.ndarray, bit: int) -> np.ndarray:
    """Items of the kind ``bit`` (0 advanced, 1 leadership) in each count vector."""
    return sum(combos[:, t] for t in range(KINDS) if (t >> bit) & 1)


def _aligned_groups(groups: pd.DataFrame, strata: pd.Series, persons: pd.Index) -> _Groups:
    labels = groups.reindex(persons)
    coded = [_codes(labels[a]) for a in labels.columns]
    stratum, strata_names = _codes(strata.reindex(persons).fillna("unknown"))
    return _Groups(
        list(labels.columns),
        [codes for codes, _ in coded],
        [names for _, names in coded],
        stratum,
        len(strata_names),
    )


def _shortfall(groups: _Groups, exposure: np.ndarray) -> tuple[float, list[list[np.ndarray]]]:
    """Summed shortfall from parity (1 - ratio, groups below it) over metrics, attributes
    and groups; and the ratios, per metric and attribute."""
    ratios = [
        [ratio for _, _, ratio in groups.indices(exposure[:, m])] for m in range(exposure.shape[1])
    ]
    total = sum(
        float(np.nansum(np.clip(1.0 - r, 0.0, None))) for per_metric in ratios for r in per_metric
    )
    return total, ratios


def _solve(
    options: _Options,
    share: np.ndarray,
    fixed: np.ndarray,
    movers: np.ndarray,
    groups: _Groups,
    iterations: int,
    step: float,
) -> np.ndarray:
    """Each movable person's chosen count vector: projected subgradient ascent on the
    group multipliers (one per metric × attribute × group, never negative: only groups
    below parity are lifted), keeping the iterate closest to parity (then the one that
    keeps most relevance)."""
    n_metrics = share.shape[0]
    multipliers = [[np.zeros(len(names)) for names in groups.names] for _ in range(n_metrics)]
    objective_base = np.where(options.admissible, options.kept, -np.inf)
    best_choice, best_key = options.original, None
    for t in range(iterations + 1):
        bonus = np.zeros((len(movers), n_metrics))
        for m in range(n_metrics):
            for codes, mu in zip(groups.codes, multipliers[m], strict=True):
                member = codes[movers]
                bonus[:, m] += np.where(member >= 0, mu[np.maximum(member, 0)], 0.0)
        if t == 0:
            choice = options.original
        else:
            objective = objective_base + bonus @ share
            choice = np.where(bonus.any(axis=1), objective.argmax(axis=1), options.original)
        exposure = fixed.copy()
        exposure[movers] = share[:, choice].T
        total, ratios = _shortfall(groups, exposure)
        kept = float(options.kept[np.arange(len(movers)), choice].sum())
        key = (round(total, 12), -kept)
        if best_key is None or key < best_key:
            best_choice, best_key = choice, key
        if total == 0.0:
            break
        rate = step / np.sqrt(t + 1)
        for m in range(n_metrics):
            for a, ratio in enumerate(ratios[m]):
                gap = np.nan_to_num(1.0 - ratio, nan=0.0)
                multipliers[m][a] = np.maximum(0.0, multipliers[m][a] + rate * gap)
    return best_choice


def rerank_for_exposure(
    pool: pd.DataFrame,
    flags: pd.DataFrame,
    groups: pd.DataFrame,
    strata: pd.Series,
    k: int,
    max_relevance_loss: float,
    iterations: int = 100,
    step: float = 0.25,
) -> ExposureReranking:
    """``pool``: person_key, rank, content_id, score, personalised (and any other columns,
    carried along): each person's ranked candidates, more than ``k`` where re-ranking is to
    have a choice. ``flags``: content_id, advanced, leadership (NA where not computed).
    ``groups``: index person_key, one column per attribute, the group label (NA: none).
    ``strata``: index person_key, the comparable-colleagues stratum.

    Only personalised lists move (a role path is the role's, and a person who opted out
    of personalisation is not re-ranked by group membership either); a person's items are
    chosen among their personalised candidates and keep the ranking's order. ``step``:
    the first subgradient step, in units of relevance share per unit of ratio shortfall
    (decreasing as 1/sqrt(t))."""
    if not 0.0 <= max_relevance_loss < 1.0:
        raise ValueError(f"max_relevance_loss must be in [0, 1), got {max_relevance_loss}")
    pool = pool.sort_values(["person_key", "rank"], kind="stable").reset_index(drop=True)
    persons = pd.Index(pool["person_key"].astype(str).unique())
    person = persons.get_indexer(pool["person_key"].astype(str))
    kind, has_leadership = _kind(pool, flags)
    metrics = list(EXPOSURE_METRICS if has_leadership else EXPOSURE_METRICS[:1])
    position = pool.groupby("person_key", sort=False).cumcount().to_numpy()
    top = position < k
    personalised = pool.get("personalised", pd.Series(True, index=pool.index))
    personalised = personalised.fillna(False).astype(bool).to_numpy()
    relevance = np.clip(pool["score"].to_numpy(dtype=float), 0.0, None)
    unchanged = np.bincount(
        person[top], weights=relevance[top] * discount(k)[position[top]], minlength=len(persons)
    )
    all_personal = np.bincount(person, weights=~personalised, minlength=len(persons)) == 0
    movable = all_personal & (np.bincount(person, minlength=len(persons)) > k) & (unchanged > 0)
    mover_of = np.cumsum(movable) - 1
    rows = np.flatnonzero(movable[person])
    options = _options(
        relevance[rows],
        kind[rows],
        mover_of[person[rows]],
        int(movable.sum()),
        k,
        max_relevance_loss,
    )
    share = np.stack([_count(options.combos, m) for m in range(len(metrics))]) / k
    fixed = np.column_stack(
        [
            np.bincount(person[top], weights=(kind[top] >> m) & 1, minlength=len(persons)) / k
            for m in range(len(metrics))
        ]
    )
    aligned = _aligned_groups(groups, strata, persons)
    movers = np.flatnonzero(movable)
    choice = _solve(options, share, fixed, movers, aligned, iterations, step)

    chosen = np.zeros(len(pool), bool)
    chosen[np.flatnonzero(top & ~movable[person])] = True
    for c, vector in enumerate(options.combos):
        who = np.flatnonzero(choice == c)
        for t in range(KINDS):
            if vector[t] and len(who):
                chosen[rows[options.rows[t, who, : vector[t]].ravel()]] = True
    lists = pool[chosen].copy()
    lists["rank"] = lists.groupby("person_key", sort=False).cumcount() + 1

    after = fixed.copy()
    after[movers] = share[:, choice].T
    kept = options.kept[np.arange(len(movers)), choice]
    changed = choice != options.original
    replaced = np.abs(options.combos[choice] - options.combos[options.original]).sum(1) // 2
    figures = {
        "persons": float(len(persons)),
        "persons_movable": float(len(movers)),
        "persons_changed": float(changed.sum()),
        "items_replaced": float(replaced.sum()),
        "relevance_kept_mean": float(kept.mean()) if len(kept) else 1.0,
        "relevance_kept_min": float(kept.min()) if len(kept) else 1.0,
        "max_relevance_loss": float(max_relevance_loss),
    }
    return ExposureReranking(lists, _disparity(aligned, fixed, after, metrics), figures)


def _disparity(
    groups: _Groups, before: np.ndarray, after: np.ndarray, metrics: list[str]
) -> pd.DataFrame:
    rows = []
    for m, metric in enumerate(metrics):
        pairs = zip(groups.indices(before[:, m]), groups.indices(after[:, m]), strict=True)
        for a, ((persons, index_b, ratio_b), (_, index_a, ratio_a)) in enumerate(pairs):
            for g, name in enumerate(groups.names[a]):
                rows.append(
                    {
                        "metric": metric,
                        "attribute": groups.attributes[a],
                        "group": name,
                        "persons": int(persons[g]),
                        "index_before": float(index_b[g]),
                        "index_after": float(index_a[g]),
                        "ratio_before": float(ratio_b[g]),
                        "ratio_after": float(ratio_a[g]),
                    }
                )
    return pd.DataFrame(
        rows,
        columns=[
            "metric",
            "attribute",
            "group",
            "persons",
            "index_before",
            "index_after",
            "ratio_before",
            "ratio_after",
        ],
    )
