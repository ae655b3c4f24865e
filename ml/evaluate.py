"""Judging what is published: the model and its baselines through the same ranking, on
hold-outs of two protocols.

Protocols (``EvalConfig.protocols``), each with its own history, hold-out and marts as
of the cutoff (``ml.dataset.as_of``):

- ``global_time``: interactions first seen in the latest ``holdout_weeks`` are the
  future (``ml.dataset.temporal_split``); positives there (completed or passed) are
  what a good list should contain;
- ``per_person``: each person's latest ``holdout_share`` of positives, persons with
  fewer than ``min_positives`` left out and counted, features and marts as of each
  person's own cutoff (``ml.dataset.per_person_split``).

Approaches: ``model`` (the blended score the ranking receives), ``lightfm`` (its LightFM
part alone), the baselines of ``ml.baselines``, and ``vanilla_lightfm``
(``ml.vanilla``: the mean over its seeds). Every approach is a ``Scorer`` and is judged
twice on the same persons (consenting persons with at least one hold-out positive):

- ``raw``: its top k over the catalogue minus what the person touched before the cutoff
  and minus mandatory content (what the scores alone know);
- ``published``: the lists ``ml.ranking`` makes of its scores — filters, blend with the
  rules, per-skill cap, role-path top-up — exactly as a publication would show them
  (``ranked_lists``). This is what people see, and what the model-quality gate judges.

Mandatory content (``ml.dataset.mandatory_content``) is no candidate and no hold-out
positive for any approach; nothing else is excluded. Figures: precision, recall, NDCG
and MAP at k (AUC for raw scores only), gap coverage, and over the recommendable
catalogue (active, not mandatory) the coverage and the Gini of exposure.

Slices: ``all``; ``new_hires`` (no history before the cutoff, or ``is_new_hire``);
``established``; one per department (``dept_<name>``). Slices with fewer than
``min_slice_persons`` persons are not reported, so no figure describes a handful of
identifiable people. Per-person figures and lists of the published stage are kept for
the fairness audit (``ProtocolEvaluation.per_person`` / ``.lists``); they never go to
MLflow.

Determinism: the evaluation model trains with one thread under its seed, and vanilla
LightFM with one thread under each of its seeds, so the same marts give the same figures
(and the same gate verdict) on every run.

Why one module of over 400 lines: the hold-out, the approaches as scorers and the
judging share ``Holdout`` and ``EvalConfig`` and are read together as one protocol; the
metrics (``ml.metrics``), baselines and ranking already live in their own modules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.baselines import BASELINES, baseline_scorer, teaches_gap_matrix
from ml.data import Marts
from ml.dataset import (
    TemporalSplit,
    as_of,
    build_interactions,
    mandatory_content,
    per_person_split,
    temporal_split,
    to_matrix,
)
from ml.metrics import (
    CHUNK,
    catalogue_coverage,
    exposure,
    gap_hits,
    gini,
    hits,
    list_metrics,
    per_person,
    precision_at_k,
    recall_at_k,
)
from ml.model import Recommender
from ml.ranking import RankingConfig, RankingContext, Scorer, ranked_lists
from ml.train import TrainConfig, train
from ml.vanilla import VanillaConfig, fit_vanilla

MODEL = "model"
LIGHTFM = "lightfm"
VANILLA = "vanilla_lightfm"
POPULARITY = ("global_popularity", "role_popularity")
APPROACHES = (MODEL, LIGHTFM, *BASELINES, VANILLA)
RAW, PUBLISHED = "raw", "published"
GLOBAL_TIME, PER_PERSON = "global_time", "per_person"
PROTOCOLS = (GLOBAL_TIME, PER_PERSON)
PRIMARY_METRIC = "ndcg_at_10"
PER_PERSON_METRICS = ("precision_at_10", "ndcg_at_10", "gap_coverage")


@dataclass(frozen=True)
class EvalConfig:
    protocols: tuple[str, ...] = PROTOCOLS
    gate_protocol: str = PER_PERSON  # the one the model-quality gate and the recipe use
    holdout_weeks: int = 6
    holdout_share: float = 0.2
    min_positives: int = 5
    k: int = 10
    min_slice_persons: int = 5
    vanilla: VanillaConfig = field(default_factory=VanillaConfig)
    ranking: RankingConfig = field(default_factory=RankingConfig)

    def __post_init__(self) -> None:
        unknown = set(self.protocols) - set(PROTOCOLS)
        if unknown or not self.protocols:
            raise ValueError(f"EvalConfig.protocols: choose among {PROTOCOLS}, got {unknown}")
        if self.gate_protocol not in self.protocols:
            raise ValueError(
                f"EvalConfig.gate_protocol {self.gate_protocol!r} is not evaluated "
                f"(protocols: {self.protocols})"
            )
        if self.ranking.k != self.k:
            raise ValueError("EvalConfig.k and EvalConfig.ranking.k must agree")


@dataclass(frozen=True)
class Holdout:
    protocol: str
    marts: Marts  # as of the cutoff(s)
    split: TemporalSplit
    persons: pd.Index  # evaluated persons (rows of every matrix below)
    items: pd.Index
    positives: sp.csr_matrix
    exclude: sp.csr_matrix  # touched before the cutoff, and mandatory content
    teaches_gap: sp.csr_matrix
    recommendable: np.ndarray  # bool per item: active and not mandatory
    slices: Mapping[str, np.ndarray]  # name → boolean row mask
    mandatory: pd.Index
    counts: Mapping[str, int]  # sizes, and what the protocol left out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "unknown"


def split_for(interactions: pd.DataFrame, protocol: str, config: EvalConfig) -> TemporalSplit:
    if protocol == GLOBAL_TIME:
        return temporal_split(interactions, config.holdout_weeks)
    if protocol == PER_PERSON:
        return per_person_split(interactions, config.holdout_share, config.min_positives)
    raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")


def make_holdout(marts: Marts, config: EvalConfig, protocol: str = GLOBAL_TIME) -> Holdout:
    split = split_for(build_interactions(marts), protocol, config)
    past = as_of(marts, split.cutoffs)
    mandatory = mandatory_content(marts.content)
    is_mandatory = split.holdout["content_id"].isin(mandatory)
    chosen = split.holdout[~is_mandatory]
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
    exclude = _touched_or_mandatory(split.history, persons, items, mandatory)
    positives = to_matrix(chosen, persons, items)
    active = marts.content["is_active"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    counts = {
        "persons": len(persons),
        "holdout_positives": int(positives.nnz),
        "history_interactions": len(split.history),
        "new_hire_persons": int(new_hire.sum()),
        "persons_too_few_positives": split.persons_too_few_positives,
        "mandatory_items": len(mandatory),
        "mandatory_holdout_positives": int(is_mandatory.sum()),
        "mandatory_only_persons": split.holdout["person_key"].nunique()
        - chosen["person_key"].nunique(),
    }
    return Holdout(
        protocol=protocol,
        marts=past,
        split=split,
        persons=persons,
        items=items,
        positives=positives,
        exclude=exclude,
        teaches_gap=teaches_gap_matrix(past, persons, items),
        recommendable=active & ~items.isin(mandatory),
        slices=slices,
        mandatory=mandatory,
        counts=counts,
    )


def _touched_or_mandatory(
    history: pd.DataFrame, persons: pd.Index, items: pd.Index, mandatory: pd.Index
) -> sp.csr_matrix:
    """Boolean (persons × items): what each person touched before the cutoff, and every
    mandatory item for everyone (built as one sparse matrix: no per-row structure)."""
    touched = to_matrix(history, persons, items).tocoo()
    cols = items.get_indexer(mandatory)
    rows = np.repeat(np.arange(len(persons)), len(cols))
    both = sp.coo_matrix(
        (
            np.ones(touched.nnz + rows.size, dtype=bool),
            (
                np.concatenate([touched.row, rows]),
                np.concatenate([touched.col, np.tile(cols, len(persons))]),
            ),
        ),
        shape=(len(persons), len(items)),
    ).tocsr()
    both.data[:] = True
    return both


@dataclass(frozen=True)
class ProtocolEvaluation:
    """One protocol's figures. ``table``: aggregates (stage, approach, slice, metric,
    value, n_persons); ``per_person`` and ``lists``: the published stage per evaluated
    person (for the fairness audit; never logged); ``counts``: sizes and exclusions."""

    protocol: str
    table: pd.DataFrame
    per_person: pd.DataFrame  # approach, person_key, precision_at_10, ndcg_at_10, gap_coverage
    lists: pd.DataFrame  # approach, person_key, rank, content_id, personalised
    counts: Mapping[str, int]
    # published precision and recall at every cut-off 1..k, all persons (approach, k,
    # precision, recall): the precision–recall@k curve of the MLflow plots
    curve: pd.DataFrame = field(default_factory=pd.DataFrame)

    def value(
        self, metric: str, approach: str = MODEL, stage: str = PUBLISHED, slice_name: str = "all"
    ) -> float:
        t = self.table
        row = t[
            (t["approach"] == approach)
            & (t["stage"] == stage)
            & (t["slice"] == slice_name)
            & (t["metric"] == metric)
        ]
        return float(row["value"].iloc[0]) if len(row) else float("nan")

    def person_figures(self, metric: str, approaches: Sequence[str]) -> np.ndarray:
        """(approaches × persons) of a per-person figure, persons in one order."""
        wide = self.per_person.pivot(index="person_key", columns="approach", values=metric)
        return wide[list(approaches)].to_numpy(dtype=float).T


@dataclass(frozen=True)
class ModelEvaluation:
    """Figures of every evaluated protocol; ``gate_protocol`` is the one the gate judges.
    Control data (recipe, MLflow run, why evaluation was skipped) travels beside it
    (``ml.runs.EvaluationOutcome``)."""

    protocols: Mapping[str, ProtocolEvaluation]
    gate_protocol: str

    @property
    def gate(self) -> ProtocolEvaluation:
        return self.protocols[self.gate_protocol]

    def value(
        self,
        metric: str,
        approach: str = MODEL,
        stage: str = PUBLISHED,
        slice_name: str = "all",
        protocol: str | None = None,
    ) -> float:
        return self.protocols[protocol or self.gate_protocol].value(
            metric, approach, stage, slice_name
        )


# --- approaches as scorers ------------------------------------------------------------------


@dataclass(frozen=True)
class _LightFMPart:
    """The model's LightFM score alone, as a ``Scorer``."""

    model: Recommender

    @property
    def item_ids(self) -> np.ndarray:
        return self.model.item_ids

    def score(self, person_keys: Sequence[str]) -> np.ndarray:
        return self.model.lightfm_score(person_keys)


def approach_scorers(
    model: Recommender, holdout: Holdout, config: EvalConfig
) -> dict[str, list[Scorer]]:
    """Every approach as one or more scorers (several: their figures are averaged)."""
    history = holdout.split.history
    scorers: dict[str, list[Scorer]] = {MODEL: [model], LIGHTFM: [_LightFMPart(model)]}
    for name in BASELINES:
        scorer = baseline_scorer(name, holdout.marts, history, holdout.persons, holdout.items)
        scorers[name] = [scorer]
    if config.vanilla.seeds:
        chosen = history[~history["content_id"].isin(holdout.mandatory)]
        persons = pd.Index(holdout.marts.employees["person_key"].astype(str), dtype=object)
        scorers[VANILLA] = [
            fit_vanilla(chosen, persons, holdout.items, config.vanilla, seed)
            for seed in config.vanilla.seeds
        ]
    return scorers


# --- judging ---------------------------------------------------------------------------------


def _raw_top(holdout: Holdout, scorer: Scorer, k: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Per-person metrics and top k of the scores alone, scored chunk by chunk."""
    if not np.array_equal(np.asarray(scorer.item_ids, dtype=object), holdout.items.to_numpy()):
        raise ValueError("a scorer's item_ids differ from the hold-out's items")
    values: dict[str, list[np.ndarray]] = {}
    tops = []
    for start in range(0, len(holdout.persons), CHUNK):
        stop = min(start + CHUNK, len(holdout.persons))
        scores = scorer.score(list(holdout.persons[start:stop]))
        chunk, top = per_person(
            scores, holdout.positives[start:stop], holdout.exclude[start:stop], k
        )
        for name, v in chunk.items():
            values.setdefault(name, []).append(v)
        tops.append(top)
    top = np.vstack(tops) if tops else np.empty((0, k), dtype=np.int64)
    return {n: np.concatenate(v) for n, v in values.items()}, top


def _published_top(
    holdout: Holdout, ctx: RankingContext, scorer: Scorer, config: EvalConfig
) -> tuple[dict[str, np.ndarray], np.ndarray, pd.DataFrame]:
    """Per-person metrics and top k of the lists the ranking makes of the scores."""
    lists = ranked_lists(ctx, scorer, list(holdout.persons), config.ranking)
    top = np.full((len(holdout.persons), config.k), -1, dtype=np.int64)
    rows = holdout.persons.get_indexer(lists["person_key"])
    top[rows, lists["rank"].to_numpy() - 1] = holdout.items.get_indexer(lists["content_id"])
    return list_metrics(top, holdout.positives, config.k), top, lists


def _figures(
    holdout: Holdout, values: Mapping[str, np.ndarray], top: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    figures = {name: float(v[mask].mean()) for name, v in values.items()}
    shown = exposure(top[mask], len(holdout.items))[holdout.recommendable]
    figures["catalogue_coverage"] = catalogue_coverage(shown)
    figures["exposure_gini"] = gini(shown)
    hit, n = gap_hits(top[mask], holdout.teaches_gap[mask])
    figures["gap_coverage"] = float(hit.sum() / n.sum()) if n.sum() else 0.0
    return figures


def _mean(parts: Sequence[Mapping[str, float]]) -> dict[str, float]:
    return {name: float(np.mean([p[name] for p in parts])) for name in parts[0]}


def judge(
    holdout: Holdout, approaches: Mapping[str, Sequence[Scorer]], config: EvalConfig
) -> ProtocolEvaluation:
    """Figures of every approach, raw and published, on every slice of ``holdout``."""
    ctx = RankingContext(holdout.marts)
    rows, people, lists, curve = [], [], [], []
    for approach, scorers in approaches.items():
        per_stage: dict[str, list[tuple[Mapping[str, np.ndarray], np.ndarray]]] = {
            RAW: [],
            PUBLISHED: [],
        }
        for i, scorer in enumerate(scorers):
            per_stage[RAW].append(_raw_top(holdout, scorer, config.k))
            values, top, ranked = _published_top(holdout, ctx, scorer, config)
            per_stage[PUBLISHED].append((values, top))
            if i == 0:  # several scorers (seeds): the first one's lists
                lists.append(ranked.assign(approach=approach))
        for stage, results in per_stage.items():
            for slice_name, mask in holdout.slices.items():
                figures = _mean([_figures(holdout, v, top, mask) for v, top in results])
                rows += [
                    {
                        "stage": stage,
                        "approach": approach,
                        "slice": slice_name,
                        "metric": metric,
                        "value": value,
                        "n_persons": int(mask.sum()),
                    }
                    for metric, value in figures.items()
                ]
        people.append(_per_person(holdout, approach, per_stage[PUBLISHED], config.k))
        curve += _curve(holdout, approach, per_stage[PUBLISHED], config.k)
    lists_frame = pd.concat(lists, ignore_index=True) if lists else pd.DataFrame()
    return ProtocolEvaluation(
        protocol=holdout.protocol,
        table=pd.DataFrame(rows),
        per_person=_categorical(pd.concat(people, ignore_index=True)),
        lists=_categorical(
            lists_frame[["approach", "person_key", "rank", "content_id", "personalised"]]
        ),
        counts=dict(holdout.counts),
        curve=pd.DataFrame(curve),
    )


def _curve(
    holdout: Holdout,
    approach: str,
    results: Sequence[tuple[Mapping[str, np.ndarray], np.ndarray]],
    k: int,
) -> list[dict[str, object]]:
    """Precision and recall of the first ``cut`` items of the lists, for every cut."""
    n_pos = np.asarray(holdout.positives.getnnz(axis=1))
    found = [hits(top, holdout.positives) for _, top in results]
    return [
        {
            "approach": approach,
            "k": cut,
            "precision": float(np.mean([precision_at_k(h, cut).mean() for h in found])),
            "recall": float(np.mean([recall_at_k(h[:, :cut], n_pos).mean() for h in found])),
        }
        for cut in range(1, k + 1)
    ]


def _per_person(
    holdout: Holdout,
    approach: str,
    results: Sequence[tuple[Mapping[str, np.ndarray], np.ndarray]],
    k: int,
) -> pd.DataFrame:
    """Published figures per person (mean over the approach's scorers)."""
    columns: dict[str, np.ndarray] = {}
    for metric in PER_PERSON_METRICS[:2]:
        columns[metric] = np.mean([v[metric] for v, _ in results], axis=0)
    shares = []
    for _, top in results:
        hit, n = gap_hits(top, holdout.teaches_gap)
        shares.append(np.divide(hit, n, out=np.full(len(n), np.nan), where=n > 0))
    columns["gap_coverage"] = np.mean(shares, axis=0)
    frame = pd.DataFrame({"approach": approach, "person_key": holdout.persons.to_numpy()})
    return frame.assign(**columns)


def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """Repeated strings as categories: at 100k persons the lists hold millions of rows."""
    for column in ("approach", "person_key", "content_id"):
        if column in frame.columns:
            frame[column] = frame[column].astype("category")
    return frame


def evaluate_protocol(
    marts: Marts, protocol: str, train_config: TrainConfig, config: EvalConfig
) -> tuple[Recommender, ProtocolEvaluation]:
    """Train on the protocol's history (one thread: the same marts give the same model)
    and judge it and every other approach on its hold-out.

    Raises ``ml.train.InsufficientData`` when the history is too thin to train on."""
    holdout = make_holdout(marts, config, protocol)
    model = train(holdout.marts, holdout.split.history, replace(train_config, num_threads=1))
    return model, judge(holdout, approach_scorers(model, holdout, config), config)


def evaluate_model(
    marts: Marts, train_config: TrainConfig, config: EvalConfig
) -> tuple[Recommender, ModelEvaluation]:
    """Every protocol of ``config``; the model returned is the gate protocol's (its recipe
    is what the production model is fitted with)."""
    gate_model, results = None, {}
    for protocol in config.protocols:
        model, results[protocol] = evaluate_protocol(marts, protocol, train_config, config)
        if protocol == config.gate_protocol:
            gate_model = model  # the other protocol's model is let go at once (memory)
    assert gate_model is not None  # EvalConfig checks that the gate protocol is evaluated
    return gate_model, ModelEvaluation(results, config.gate_protocol)


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
