"""One evaluation protocol for the model and its baselines, in the same run.

Temporal hold-out: interactions first seen in the latest ``holdout_weeks`` are the
future; positives there (completed or passed) are what a good list should contain. Every
approach sees only the marts as of the cutoff (``ml.dataset.as_of``), ranks the whole
catalogue minus what the person already touched before the cutoff, and is scored with the
same metrics (``ml.metrics``) on the same persons: consenting persons with at least one
hold-out positive.

Assigned content (``ml.dataset.assigned_content``, detected in the history alone) is
taken out for every approach alike: it is never a candidate, and it is not a hold-out
positive, so a person whose only hold-out positives were assigned is not evaluated. What
this removed is reported (``Holdout.removed``, logged to MLflow with the dataset sizes).

Approaches: ``model`` (the blended score the ranking receives), ``lightfm`` (its LightFM
part alone, to show what learning adds) and the baselines.

Slices: ``all``; ``new_hires`` (no history before the cutoff, or ``is_new_hire``) — the
cold start the features must carry; ``established`` (the rest); and one per department
(``dept_<name>``). Slices with fewer than ``min_slice_persons`` persons are not reported,
so no figure describes a handful of identifiable people.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.baselines import BASELINES, baseline_scores, teaches_gap_matrix
from ml.data import Marts
from ml.dataset import (
    ASSIGNED_SHARE,
    TemporalSplit,
    as_of,
    assigned_content,
    build_interactions,
    temporal_split,
    to_matrix,
)
from ml.metrics import catalogue_coverage, gap_coverage, per_person
from ml.model import Recommender
from ml.train import TrainConfig, train

MODEL = "model"
LIGHTFM = "lightfm"
PRIMARY_METRIC = "ndcg_at_10"
REFERENCE_BASELINE = "role_popularity"


@dataclass(frozen=True)
class EvalConfig:
    holdout_weeks: int = 6
    k: int = 10
    min_slice_persons: int = 5
    assigned_share: float | None = ASSIGNED_SHARE


@dataclass(frozen=True)
class Holdout:
    marts: Marts  # as of the cutoff
    split: TemporalSplit
    persons: pd.Index  # evaluated persons (rows of every matrix below)
    items: pd.Index
    positives: sp.csr_matrix
    exclude: sp.csr_matrix
    teaches_gap: sp.csr_matrix
    slices: Mapping[str, np.ndarray]  # name → boolean row mask
    assigned: pd.Index  # content excluded for every approach
    removed: Mapping[str, int]  # what the assigned exclusion took out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "unknown"


def make_holdout(marts: Marts, config: EvalConfig) -> Holdout:
    split = temporal_split(build_interactions(marts), config.holdout_weeks)
    past = as_of(marts, split.cutoff)
    assigned = assigned_content(split.history, marts.employees, config.assigned_share)
    is_assigned = split.holdout["content_id"].isin(assigned)
    chosen = split.holdout[~is_assigned]
    emp = marts.employees.set_index("person_key")
    persons = pd.Index(sorted(set(chosen["person_key"]) & set(emp.index.astype(str))), dtype=object)
    items = pd.Index(marts.content["content_id"].astype(str), dtype=object)
    with_history = persons.isin(split.history["person_key"])
    new_hire = ~with_history | emp.loc[persons, "is_new_hire"].astype(bool).to_numpy()
    slices: dict[str, np.ndarray] = {
        "all": np.ones(len(persons), dtype=bool),
        "new_hires": new_hire,
        "established": ~new_hire,
    }
    departments = emp.loc[persons, "department"].fillna("unknown").to_numpy()
    for dept in sorted(set(departments)):
        slices[f"dept_{_slug(dept)}"] = departments == dept
    slices = {n: m for n, m in slices.items() if m.sum() >= config.min_slice_persons}
    exclude = to_matrix(split.history, persons, items).tolil()
    exclude[:, items.get_indexer(assigned)] = 1.0
    removed = {
        "assigned_items": len(assigned),
        "assigned_history_interactions": int(split.history["content_id"].isin(assigned).sum()),
        "assigned_holdout_positives": int(is_assigned.sum()),
        "assigned_only_holdout_persons": split.holdout["person_key"].nunique()
        - chosen["person_key"].nunique(),
    }
    return Holdout(
        marts=past,
        split=split,
        persons=persons,
        items=items,
        positives=to_matrix(chosen, persons, items),
        exclude=exclude.tocsr(),
        teaches_gap=teaches_gap_matrix(past, persons, items),
        slices=slices,
        assigned=assigned,
        removed=removed,
    )


def metric_name(metric: str, approach: str = MODEL, slice_name: str = "all") -> str:
    """Names that line up in the MLflow UI: ``ndcg_at_10``, ``ndcg_at_10_new_hires``,
    ``ndcg_at_10__baseline_role_popularity``, ``ndcg_at_10_new_hires__baseline_skill_gap``."""
    name = metric if slice_name == "all" else f"{metric}_{slice_name}"
    return name if approach == MODEL else f"{name}__baseline_{approach}"


@dataclass(frozen=True)
class Evaluation:
    table: pd.DataFrame  # approach, slice, metric, value, n_persons (aggregates only)
    top: Mapping[str, np.ndarray]  # approach → top-k item indices per evaluated person
    holdout: Holdout

    def value(self, metric: str, approach: str = MODEL, slice_name: str = "all") -> float:
        t = self.table
        row = t[(t["approach"] == approach) & (t["slice"] == slice_name) & (t["metric"] == metric)]
        return float(row["value"].iloc[0]) if len(row) else float("nan")

    @property
    def beats_baseline(self) -> bool:
        """The model's NDCG@10 on the hold-out is above role popularity's."""
        return self.value(PRIMARY_METRIC) > self.value(PRIMARY_METRIC, REFERENCE_BASELINE)

    def flat_metrics(self) -> dict[str, float]:
        return {
            metric_name(r.metric, r.approach, r.slice): float(r.value)
            for r in self.table.itertuples()
        }

    def as_dict(self) -> dict[str, object]:
        """approach → slice → metric → value, plus ``beats_baseline`` (the asset value)."""
        out: dict[str, object] = {}
        for r in self.table.itertuples():
            out.setdefault(r.approach, {}).setdefault(r.slice, {})[r.metric] = float(r.value)  # type: ignore[union-attr]
        out["beats_baseline"] = self.beats_baseline
        return out

    def top_content(self, approach: str) -> dict[str, list[str]]:
        """person_key → recommended content_ids (for truth-based evaluation only)."""
        ids = np.append(self.holdout.items.to_numpy(), None)
        return {
            pk: [c for c in ids[row] if c is not None]
            for pk, row in zip(self.holdout.persons, self.top[approach], strict=True)
        }


def evaluate_scores(holdout: Holdout, scores: Mapping[str, np.ndarray], k: int) -> Evaluation:
    """Metrics of every approach on every slice, from their score matrices."""
    rows, tops = [], {}
    for approach, matrix in scores.items():
        values, top = per_person(matrix, holdout.positives, holdout.exclude, k)
        tops[approach] = top
        for slice_name, mask in holdout.slices.items():
            n = int(mask.sum())
            figures = {name: float(v[mask].mean()) for name, v in values.items()}
            figures["catalogue_coverage"] = catalogue_coverage(top[mask], len(holdout.items))
            figures["gap_coverage"] = gap_coverage(top[mask], holdout.teaches_gap[mask])
            rows += [
                {"approach": approach, "slice": slice_name, "metric": m, "value": v, "n_persons": n}
                for m, v in figures.items()
            ]
    return Evaluation(table=pd.DataFrame(rows), top=tops, holdout=holdout)


def evaluate_model(
    marts: Marts, train_config: TrainConfig, config: EvalConfig
) -> tuple[Recommender, Evaluation]:
    """Train on the history before the hold-out and judge it against every baseline.

    Raises ``ml.train.InsufficientData`` when the history is too thin to train on."""
    holdout = make_holdout(marts, config)
    model = train(holdout.marts, holdout.split.history, train_config)
    persons = list(holdout.persons)
    scores = {MODEL: model.score(persons), LIGHTFM: model.lightfm_score(persons)}
    for name in BASELINES:
        scores[name] = baseline_scores(
            name, holdout.marts, holdout.split.history, holdout.persons, holdout.items
        )
    return model, evaluate_scores(holdout, scores, config.k)


TruthOutcome = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def truth_report(
    tops: Mapping[str, Mapping[str, Sequence[str]]], truth_outcome: TruthOutcome
) -> pd.DataFrame:
    """For a synthetic organisation whose ground truth is known (benchmarks and tests,
    never production): per approach, the expected completion rate, expected skill gain
    and share of recommended items the person already masters."""
    rows = []
    for approach, lists in tops.items():
        pairs = [(pk, cid) for pk, cids in lists.items() for cid in cids]
        if not pairs:
            continue
        persons, contents = (np.array(x, dtype=object) for x in zip(*pairs, strict=True))
        p_complete, gain, mastered = truth_outcome(persons, contents)
        rows.append(
            {
                "approach": approach,
                "expected_completion": float(np.mean(p_complete)),
                "expected_gain": float(np.mean(gain)),
                "mastered_share": float(np.mean(mastered)),
                "recommendations": len(pairs),
            }
        )
    return pd.DataFrame(rows)
