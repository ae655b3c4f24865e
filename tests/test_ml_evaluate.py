"""Judging what is published: hold-out protocols, mandatory content, published lists of
every approach, and the decision rule of the model-quality gate."""

from __future__ import annotations

from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest
from lightfm.evaluation import auc_score, precision_at_k, recall_at_k

from ml.baselines import BASELINES, baseline_scorer, baseline_scores
from ml.dataset import as_of, build_interactions, per_person_split, temporal_split
from ml.evaluate import (
    APPROACHES,
    GLOBAL_TIME,
    LIGHTFM,
    MODEL,
    PER_PERSON,
    PUBLISHED,
    RAW,
    EvalConfig,
    ModelEvaluation,
    approach_scorers,
    evaluate_protocol,
    judge,
    make_holdout,
)
from ml.evidence import EvidenceRules, profile_as_of
from ml.metrics import gini, paired_bootstrap, per_person
from ml.model import LIGHTFM_ONLY
from ml.runs import EvaluationOutcome
from ml.train import Recipe, TrainConfig, train
from ml.vanilla import VanillaConfig
from skillpath.config import load_config
from skillpath.publish.gates import FAILED, PASSED, WARNING, GateContext, model_quality_gate
from tests.fixtures.ml.holdout import evaluation_of, hand_holdout
from tests.fixtures.ml.synthetic import make_org
from tests.fixtures.publish.org import FakeScorer, Org

CONFIG = TrainConfig(epochs=15, patience=3, num_threads=1)
FAST = EvalConfig(vanilla=VanillaConfig(seeds=(1,)))
SHIPPED = model_quality_gate(load_config({}))


@pytest.fixture(scope="module")
def org():
    return make_org(persons=200, items=80, seed=3)


@pytest.fixture(scope="module")
def global_time(org):
    holdout = make_holdout(org.marts, FAST, GLOBAL_TIME)
    model = train(holdout.marts, holdout.split.history, CONFIG)
    return holdout, model, judge(holdout, approach_scorers(model, holdout, FAST), FAST)


def _gate(outcome: EvaluationOutcome, **kwargs):
    """The model-quality gate as shipped (``kwargs`` replace its settings)."""
    context = GateContext(duckdb.connect(), "p1", outcome, None)
    return replace(SHIPPED, **kwargs).evaluate(context)


# --- protocols ---------------------------------------------------------------------------


def test_temporal_split_keeps_the_future_out(org):
    split = temporal_split(build_interactions(org.marts), weeks=6)
    assert split.history["first_event_at"].max() <= split.cutoff
    assert split.holdout["first_event_at"].min() > split.cutoff
    assert split.holdout["is_positive"].all()
    seen = set(zip(split.history["person_key"], split.history["content_id"], strict=True))
    assert not seen & set(
        zip(split.holdout["person_key"], split.holdout["content_id"], strict=True)
    )


def test_per_person_split_holds_back_each_persons_latest_share(org):
    interactions = build_interactions(org.marts)
    split = per_person_split(interactions, share=0.2, min_positives=5)
    positives = interactions[interactions["is_positive"]].groupby("person_key").size()
    evaluated = set(split.cutoffs.per_person.index)
    assert evaluated == set(positives.index[positives >= 5]) == set(split.holdout["person_key"])
    assert split.persons_too_few_positives == int((positives < 5).sum()) > 0
    held = split.holdout.groupby("person_key").size()
    expected = np.maximum(1, np.floor(positives[held.index] * 0.2 + 0.5))
    assert (held == expected).all()
    for person, cutoff in split.cutoffs.per_person.items():
        mine = split.history[split.history["person_key"] == person]
        later = split.holdout[split.holdout["person_key"] == person]
        assert mine["first_event_at"].max() <= cutoff < later["first_event_at"].min()
    # no future interaction of an evaluated person is learned, whatever its outcome
    known = split.history.merge(
        split.cutoffs.per_person.rename("cut"), left_on="person_key", right_index=True
    )
    assert (known["first_event_at"] <= known["cut"]).all()
    # persons not evaluated keep their whole history
    others = interactions[~interactions["person_key"].isin(evaluated)]
    assert len(split.history[~split.history["person_key"].isin(evaluated)]) == len(others)


def test_per_person_marts_know_nothing_after_each_persons_own_cutoff(org):
    split = per_person_split(build_interactions(org.marts))
    cuts = split.cutoffs.per_person
    past = as_of(org.marts, split.cutoffs)
    eng = past.engagement.merge(cuts.rename("cut"), left_on="person_key", right_index=True)
    assert len(eng) and (eng["first_event_at"] <= eng["cut"]).all()
    ev = past.skill_evidence.merge(cuts.rename("cut"), left_on="person_key", right_index=True)
    assert len(ev) and (pd.to_datetime(ev["evidence_at"]) <= ev["cut"]).all()
    # a person's profile is their evidence judged at their own cutoff (recency included)
    person = cuts.index[0]
    evidence = org.marts.skill_evidence
    alone = profile_as_of(
        evidence[evidence["person_key"] == person],
        cuts[person],
        EvidenceRules.of_marts(org.marts.skill_profile_rules),
    )
    theirs = past.skill_profile[past.skill_profile["person_key"] == person]
    pd.testing.assert_frame_equal(
        alone.sort_values("skill_id").reset_index(drop=True)[["skill_id", "estimated_level"]],
        theirs.sort_values("skill_id").reset_index(drop=True)[["skill_id", "estimated_level"]],
    )
    assert (past.skill_profile["person_key"] == person).any()


# --- judging -------------------------------------------------------------------------------


def test_raw_metrics_equal_lightfm_evaluation(global_time):
    holdout, model, result = global_time
    persons = list(holdout.persons)
    user_features = model.features.user_matrix(holdout.marts, holdout.split.history, persons)
    item_features = model.features.item_matrix(holdout.marts, list(holdout.items))
    ours, _ = per_person(model.lightfm_score(persons), holdout.positives, holdout.exclude, 10)
    kwargs = {
        "test_interactions": holdout.positives.astype(np.float32),
        "train_interactions": holdout.exclude.astype(np.float32),
        "user_features": user_features,
        "item_features": item_features,
    }
    lfm = model.model
    assert ours["precision_at_10"] == pytest.approx(precision_at_k(lfm, k=10, **kwargs), abs=1e-6)
    assert ours["recall_at_10"] == pytest.approx(recall_at_k(lfm, k=10, **kwargs), abs=1e-6)
    assert ours["auc"] == pytest.approx(auc_score(lfm, **kwargs), abs=1e-4)
    assert result.value("precision_at_10", LIGHTFM, RAW) == pytest.approx(
        ours["precision_at_10"].mean()
    )


def test_every_approach_is_judged_raw_and_published_on_the_same_slices(global_time):
    _, _, result = global_time
    table = result.table
    assert set(table["approach"]) == set(APPROACHES)
    assert set(table["stage"]) == {RAW, PUBLISHED}
    per_approach = table.groupby(["approach", "stage"])[["slice", "metric"]].apply(
        lambda f: frozenset(map(tuple, f.loc[f["metric"] != "auc"].to_numpy()))
    )
    assert per_approach.nunique() == 1
    assert {"all", "new_hires", "established"} <= set(table["slice"])
    assert table["value"].between(0, 1).all()
    # the precision–recall@k curve of the published lists ends where the table's k = 10 is
    curve = result.curve.set_index(["approach", "k"])
    for approach in APPROACHES:
        for metric in ("precision", "recall"):
            at_10 = result.value(f"{metric}_at_10", approach)
            assert curve.loc[(approach, 10), metric] == pytest.approx(at_10)
        assert curve.loc[approach]["recall"].is_monotonic_increasing


def test_published_lists_follow_the_ranking_rules(global_time):
    holdout, _, result = global_time
    lists = result.lists
    assert set(lists["approach"]) == set(APPROACHES)
    done = holdout.marts.engagement
    done = done[done["is_completed"] | done["is_passed"]]
    completed = set(zip(done["person_key"], done["content_id"], strict=True))
    shown = set(zip(lists["person_key"].astype(str), lists["content_id"].astype(str), strict=True))
    assert not completed & shown
    inactive = set(holdout.items[~holdout.marts.content["is_active"].to_numpy(dtype=bool)])
    assert inactive and not inactive & set(lists["content_id"].astype(str))
    ranks = lists.groupby(["approach", "person_key"], observed=True)["rank"].agg(["min", "max"])
    assert (ranks["min"] == 1).all() and (ranks["max"] <= 10).all()
    # the per-person figures the fairness audit reads describe these lists
    model = result.per_person[result.per_person["approach"] == MODEL]
    assert model["ndcg_at_10"].mean() == pytest.approx(result.value("ndcg_at_10"))


def _rule_org() -> tuple[Org, dict[str, list[str]]]:
    """40 analysts who all hold S1 at level 2 (so ``x``, teaching S1 at 1, counts as
    mastered); everyone's hold-out positive is ``x``, and half also took ``p1``."""
    persons = {f"{i:064x}": "DA" for i in range(40)}
    content = {"x": ("course", {"S1": 1})}
    content.update({f"p{j}": ("course", {"S2": 3}) for j in range(1, 6)})
    content.update({f"n{j:02d}": ("article", {}) for j in range(24)})
    levels = {(p, "S1"): 2.0 for p in persons}
    positives = {p: ["x", "p1"] if i % 2 else ["x"] for i, p in enumerate(persons)}
    return Org(persons=persons, content=content, levels=levels), positives


def test_a_rule_that_removes_the_best_item_lowers_the_published_score_and_the_gate_sees_it():
    org, positives = _rule_org()
    items = list(org.content)
    # the model ranks everyone's positive x first, then items nobody took
    model = FakeScorer(items, {"x": 10, **{f"n{j:02d}": 9 - j / 10 for j in range(24)}})
    # popularity ranks the popular p items first and x last (not in its top 10 by a tie)
    popular = FakeScorer(items, {"x": -1, **{f"p{j}": 10 - j for j in range(1, 6)}})
    approaches = {MODEL: [model], "global_popularity": [popular], "role_popularity": [popular]}
    holdout = hand_holdout(org, positives)
    results = {}
    for skip_mastered in (False, True):
        config = replace(FAST, ranking=replace(FAST.ranking, skip_mastered=skip_mastered))
        results[skip_mastered] = judge(holdout, approaches, config)
    kept, removed = results[False], results[True]
    # the raw scores do not change; the published lists lose x, the model's only hit
    assert kept.value("precision_at_10", stage=RAW) == removed.value("precision_at_10", stage=RAW)
    assert removed.value("precision_at_10") < kept.value("precision_at_10")
    assert removed.value("ndcg_at_10") < removed.value("ndcg_at_10", "global_popularity")
    verdicts = {
        rule: _gate(EvaluationOutcome(ModelEvaluation({GLOBAL_TIME: r}, GLOBAL_TIME), None, "r"))
        for rule, r in results.items()
    }
    assert verdicts[False].passed and verdicts[False].status == PASSED
    assert not verdicts[True].passed and verdicts[True].status == FAILED
    assert "below popularity" in verdicts[True].message
    assert verdicts[True].figures["decision.ndcg_at_10.high"] < 0


def test_the_gate_blocks_a_scorer_that_ranks_popular_items_last(global_time):
    holdout, _, result = global_time
    pop = baseline_scorer(
        "global_popularity", holdout.marts, holdout.split.history, holdout.persons, holdout.items
    )
    upside_down = replace(pop, table=-pop.table)
    approaches = {
        MODEL: [upside_down],
        **{
            n: [
                baseline_scorer(
                    n, holdout.marts, holdout.split.history, holdout.persons, holdout.items
                )
            ]
            for n in ("global_popularity", "role_popularity")
        },
    }
    bad = judge(holdout, approaches, FAST)
    blocked = _gate(EvaluationOutcome(ModelEvaluation({GLOBAL_TIME: bad}, GLOBAL_TIME), None, "r"))
    assert blocked.status == FAILED
    good = _gate(EvaluationOutcome(ModelEvaluation({GLOBAL_TIME: result}, GLOBAL_TIME), None, "r"))
    assert good.passed, good.message
    # raw-score and published figures side by side, for every approach
    shown = ("model", "global_popularity", "role_popularity", "vanilla_lightfm")
    for stage in (RAW, PUBLISHED):
        for approach in shown:
            name = f"global_time.{stage}.{approach}.ndcg_at_10"
            assert good.figures[name] == round(result.value("ndcg_at_10", approach, stage), 4)


def test_same_landing_same_verdict(org):
    """Two training threads race (Hogwild); the evaluation trains with one, so reruns on
    the same marts give the same per-person figures and the same verdict."""
    racing = replace(CONFIG, num_threads=2)
    config = replace(FAST, protocols=(PER_PERSON,), vanilla=VanillaConfig(seeds=()))
    runs = [evaluate_protocol(org.marts, PER_PERSON, racing, config)[1] for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0].per_person, runs[1].per_person)
    gates = [
        _gate(EvaluationOutcome(ModelEvaluation({PER_PERSON: r}, PER_PERSON), None, "r"))
        for r in runs
    ]
    assert gates[0] == gates[1]


# --- mandatory content -------------------------------------------------------------------------


def _with_campaign(org, share: float, mandatory: bool | None):
    """The org plus one item that ``share`` of the workforce completed a week before the
    end (an LMS campaign); ``mandatory`` sets ``dim_content.is_mandatory`` (None: no
    such column)."""
    marts = org.marts
    item = marts.content["content_id"].iloc[-1]
    emp = marts.employees
    takers = emp.loc[emp["is_active"] & ~emp["opted_out"], "person_key"]
    takers = takers.iloc[: int(len(takers) * share)]
    when = marts.engagement["first_event_at"].max() - pd.Timedelta(days=7)
    rows = marts.engagement.iloc[[0] * len(takers)].assign(
        person_key=takers.to_numpy(),
        content_id=item,
        is_completed=True,
        dropped_early=False,
        first_event_at=when,
    )
    eng = marts.engagement[marts.engagement["content_id"] != item]
    content = marts.content.assign(is_active=True)
    if mandatory is not None:
        content = content.assign(is_mandatory=content["content_id"].eq(item) & mandatory)
    marts = replace(marts, engagement=pd.concat([eng, rows], ignore_index=True), content=content)
    return marts, item


def test_mandatory_content_is_no_candidate_and_no_positive_for_any_approach(org):
    marts, campaign = _with_campaign(org, 0.9, mandatory=True)
    holdout = make_holdout(marts, FAST, GLOBAL_TIME)
    col = holdout.items.get_loc(campaign)
    assert list(holdout.mandatory) == [campaign]
    assert holdout.positives[:, col].nnz == 0 and holdout.counts["mandatory_holdout_positives"]
    assert holdout.exclude[:, col].toarray().all() and not holdout.recommendable[col]
    config = replace(FAST, vanilla=VanillaConfig(seeds=()))
    pop = {
        n: [
            baseline_scorer(n, holdout.marts, holdout.split.history, holdout.persons, holdout.items)
        ]
        for n in BASELINES
    }
    result = judge(holdout, pop, config)
    assert campaign not in set(result.lists["content_id"].astype(str))
    model = train(holdout.marts, holdout.split.history, CONFIG, Recipe(2, dict(LIGHTFM_ONLY)))
    assert model.params["mandatory_items"] == 1


@pytest.mark.parametrize("mandatory", [None, False])
def test_popular_content_stays_a_candidate_and_a_positive_unless_marked(org, mandatory):
    """No column (or not marked): popularity alone excludes nothing."""
    marts, campaign = _with_campaign(org, 0.9, mandatory=mandatory)
    holdout = make_holdout(marts, FAST, GLOBAL_TIME)
    col = holdout.items.get_loc(campaign)
    assert holdout.mandatory.empty and holdout.recommendable[col]
    assert holdout.positives[:, col].nnz > 0.5 * len(holdout.persons)
    pop = baseline_scores(
        "global_popularity", holdout.marts, holdout.split.history, holdout.persons, holdout.items
    )
    assert pop.shape == (len(holdout.persons), len(holdout.items))


# --- the decision rule ---------------------------------------------------------------------


def test_paired_bootstrap_pairs_persons_and_picks_the_better_baseline_per_resample():
    rng = np.random.default_rng(0)
    a, b = rng.random(300), rng.random(300)
    # paired: the same persons are drawn for both, so a copy differs by exactly nothing
    assert paired_bootstrap(a, a[None, :], 500, 0.9, 1) == (0.0, 0.0, 0.0)
    # the better of two equally good baselines, chosen per resample, is never beaten by a copy
    assert paired_bootstrap(a, np.vstack([a, b]), 500, 0.9, 1)[2] <= 1e-12
    better = paired_bootstrap(a + 0.1, np.vstack([a, b * 0.5]), 500, 0.9, 1)
    assert better[1] > 0
    assert better == paired_bootstrap(a + 0.1, np.vstack([a, b * 0.5]), 500, 0.9, 1)


def test_gini_of_exposure():
    assert gini(np.array([5, 5, 5, 5])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 8])) == pytest.approx(0.75)
    assert gini(np.zeros(4)) == 0.0


def test_gate_verdicts_on_hand_made_figures():
    rng = np.random.default_rng(3)
    pop = rng.binomial(1, 0.3, 400).astype(float)
    worse = _gate(
        evaluation_of({"model": pop * 0.5, "global_popularity": pop, "role_popularity": pop * 0.9})
    )
    assert worse.status == FAILED and "global_popularity" in worse.message
    # other persons hit, slightly fewer in all: below, within what persons' noise explains
    noisy = np.where(rng.random(400) < 0.5, rng.binomial(1, 0.27, 400), pop)
    below = _gate(evaluation_of({"model": noisy, "global_popularity": pop, "role_popularity": pop}))
    assert below.passed and below.status == WARNING and "within the interval" in below.message
    fine = _gate(
        evaluation_of({"model": pop, "global_popularity": pop * 0.9, "role_popularity": pop * 0.8})
    )
    assert fine.status == PASSED
    few = _gate(
        evaluation_of(
            {"model": pop[:10] * 0, "global_popularity": pop[:10], "role_popularity": pop[:10]}
        )
    )
    assert few.status == WARNING and "too few" in few.message
    unjudged = _gate(EvaluationOutcome(None, None, "r", skipped="12 positive interactions"))
    assert unjudged.status == FAILED and "12 positive interactions" in unjudged.message
    demanding = _gate(
        evaluation_of({"model": pop, "global_popularity": pop * 0.9, "role_popularity": pop * 0.8}),
        rule=replace(SHIPPED.rule, margin=0.5),
    )
    assert demanding.status == FAILED
