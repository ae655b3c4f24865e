"""Recommender core: dataset, features, metrics, training, baselines, scoring."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from lightfm.evaluation import auc_score, precision_at_k, recall_at_k

from ml.baselines import BASELINES, baseline_scores
from ml.dataset import assigned_content, build_interactions, interaction_weight, temporal_split
from ml.evaluate import (
    LIGHTFM,
    MODEL,
    EvalConfig,
    evaluate_model,
    make_holdout,
    metric_name,
    truth_report,
)
from ml.features import FeatureSpace
from ml.metrics import per_person
from ml.model import LIGHTFM_ONLY, Representations, standardise
from ml.train import InsufficientData, TrainConfig, recency_weighted, train
from tests.fixtures.ml.synthetic import make_org

CONFIG = TrainConfig(epochs=30, patience=5, num_threads=1)


@pytest.fixture(scope="module")
def org():
    return make_org(persons=300, items=100, seed=3)


@pytest.fixture(scope="module")
def evaluated(org):
    return evaluate_model(org.marts, CONFIG, EvalConfig())


def test_weights_rank_outcomes_and_ratings():
    eng = pd.DataFrame(
        {
            "is_completed": [True, False, False, False, False, True],
            "is_passed": [False, True, False, False, False, False],
            "is_failed": [False, False, True, False, False, False],
            "dropped_early": [False, False, False, False, True, False],
            "max_progress": [1.0, 1.0, 0.6, 0.6, 0.1, 1.0],
            "rating": [np.nan, np.nan, np.nan, np.nan, np.nan, 1.0],
        }
    )
    w = interaction_weight(eng).to_numpy()
    assert w[0] == w[1] > w[2] > w[3] > w[4] == 0  # done > failed > progressed > dropped
    assert w[5] < w[0]  # a poor rating weakens a completion


def test_recency_halves_the_weight_every_half_life():
    history = pd.DataFrame(
        {
            "first_event_at": pd.to_datetime(["2024-12-25", "2025-03-26", "2025-06-25"]),
            "weight": [1.0, 0.5, 1.0],
        }
    )
    decayed = recency_weighted(history, 13.0)["weight"].to_numpy()
    assert decayed == pytest.approx([0.25, 0.25, 1.0])  # 26, 13 and 0 weeks before the end
    assert recency_weighted(history, None) is history


def test_opted_out_behaviour_is_not_used(org):
    opted = set(org.marts.employees.loc[org.marts.employees["opted_out"], "person_key"])
    assert opted & set(org.marts.engagement["person_key"])  # the fixture has some to drop
    interactions = build_interactions(org.marts)
    assert not opted & set(interactions["person_key"])
    model = train(org.marts, interactions, replace(CONFIG, epochs=2))
    assert model.params["n_persons"] == (~org.marts.employees["opted_out"]).sum()


def test_sensitive_attributes_change_no_feature(org):
    """Even if someone joined sensitive columns into dim_employee, with values that differ
    from person to person, neither the vocabulary nor any person's feature row changes."""
    rng = np.random.default_rng(0)
    n = len(org.marts.employees)
    emp = org.marts.employees.assign(
        gender=rng.choice(["f", "m", "x"], n),
        birth_year=rng.integers(1960, 2000, n),
        disability=rng.random(n) < 0.1,
    )
    marts = replace(org.marts, employees=emp)
    history = build_interactions(org.marts)
    persons = list(org.marts.employees["person_key"])
    plain = FeatureSpace.fit(org.marts, history, CONFIG.features)
    space = FeatureSpace.fit(marts, build_interactions(marts), CONFIG.features)
    assert space.user_vocab == plain.user_vocab
    assert space.item_vocab == plain.item_vocab
    difference = space.user_matrix(marts, history, persons) - plain.user_matrix(
        org.marts, history, persons
    )
    assert difference.count_nonzero() == 0


def test_temporal_split_keeps_the_future_out(org):
    split = temporal_split(build_interactions(org.marts), weeks=6)
    assert split.history["first_event_at"].max() <= split.cutoff
    assert split.holdout["first_event_at"].min() > split.cutoff
    assert split.holdout["is_positive"].all()
    seen = set(zip(split.history["person_key"], split.history["content_id"], strict=True))
    assert not seen & set(
        zip(split.holdout["person_key"], split.holdout["content_id"], strict=True)
    )


def test_metrics_equal_lightfm_evaluation(org, evaluated):
    model, ev = evaluated
    h = ev.holdout
    user_features = model.features.user_matrix(h.marts, h.split.history, list(h.persons))
    item_features = model.features.item_matrix(h.marts, list(h.items))
    ours, _ = per_person(model.lightfm_score(list(h.persons)), h.positives, h.exclude, 10)
    kwargs = {
        "test_interactions": h.positives.astype(np.float32),
        "train_interactions": h.exclude.astype(np.float32),
        "user_features": user_features,
        "item_features": item_features,
    }
    lfm = model.model
    assert ours["precision_at_10"] == pytest.approx(precision_at_k(lfm, k=10, **kwargs), abs=1e-6)
    assert ours["recall_at_10"] == pytest.approx(recall_at_k(lfm, k=10, **kwargs), abs=1e-6)
    assert ours["auc"] == pytest.approx(auc_score(lfm, **kwargs), abs=1e-4)


def test_training_is_deterministic_under_a_seed(org):
    history = build_interactions(org.marts)
    a = train(org.marts, history, replace(CONFIG, epochs=3, validation_weeks=0))
    b = train(org.marts, history, replace(CONFIG, epochs=3, validation_weeks=0))
    c = train(org.marts, history, replace(CONFIG, epochs=3, validation_weeks=0, seed=7))
    keys = list(org.marts.employees["person_key"][:20])
    np.testing.assert_array_equal(a.score(keys), b.score(keys))
    assert not np.array_equal(a.score(keys), c.score(keys))


def test_model_beats_global_popularity_on_a_role_driven_org(evaluated):
    _, ev = evaluated
    assert ev.value("ndcg_at_10") > ev.value("ndcg_at_10", "global_popularity")
    assert ev.value("auc") > ev.value("auc", "global_popularity")


def test_every_approach_is_judged_on_the_same_slices(evaluated):
    _, ev = evaluated
    table = ev.table
    assert set(table["approach"]) == {MODEL, LIGHTFM, *BASELINES}
    per_approach = table.groupby("approach")[["slice", "metric"]].apply(
        lambda f: frozenset(map(tuple, f.to_numpy()))
    )
    assert per_approach.nunique() == 1
    assert {"all", "new_hires", "established"} <= set(table["slice"])
    assert table["value"].between(0, 1).all()
    flat = ev.flat_metrics()
    assert metric_name("ndcg_at_10", "role_popularity") == "ndcg_at_10__baseline_role_popularity"
    assert {"ndcg_at_10", "ndcg_at_10_new_hires", "ndcg_at_10__baseline_skill_gap"} <= set(flat)


def test_recommendations_exclude_history(evaluated):
    _, ev = evaluated
    h = ev.holdout
    for approach, top in ev.top.items():
        rows = np.repeat(np.arange(top.shape[0]), top.shape[1])
        assert not np.asarray(h.exclude[rows, top.ravel()]).any(), approach


def test_skill_gap_baseline_recommends_gap_content(evaluated):
    _, ev = evaluated
    assert ev.value("gap_coverage", "skill_gap") > ev.value("gap_coverage", "global_popularity")


def test_cold_start_persons_and_items_are_scored_from_features(org):
    history = build_interactions(org.marts)
    model = train(org.marts, history, replace(CONFIG, epochs=5))
    # a new hire with no history, and a new content item, in a later snapshot
    emp = org.marts.employees
    hire = emp.iloc[[0]].assign(person_key="new-hire", is_new_hire=True)
    item = org.marts.content.iloc[[0]].assign(content_id="new-item")
    bridge = org.marts.content_skills
    teach = bridge[bridge["content_id"] == org.marts.content["content_id"].iloc[0]]
    later = replace(
        org.marts,
        employees=pd.concat([emp, hire], ignore_index=True),
        content=pd.concat([org.marts.content, item], ignore_index=True),
        content_skills=pd.concat([bridge, teach.assign(content_id="new-item")]),
    )
    bound = model.bind(later, history)
    scores = bound.score(["new-hire", emp["person_key"].iloc[1]])
    assert scores.dtype == np.float32 and scores.shape == (2, len(later.content))
    assert np.isfinite(scores).all()
    # the new hire is scored like a colleague of the same role, not like nobody
    assert np.corrcoef(scores[0], bound.score([emp["person_key"].iloc[0]])[0])[0, 1] > 0.5
    # persons missing from the snapshot get no embedding of anyone: item biases only
    unknown = bound.lightfm_score(["unknown-person", "another-unknown-person"])
    items = Representations.of_items(model.model, model.features.item_matrix(later, bound.item_ids))
    np.testing.assert_allclose(unknown, np.broadcast_to(items.bias, unknown.shape), rtol=1e-5)


def test_top_k_matches_score_order_and_honours_exclusions(evaluated):
    model, ev = evaluated
    keys = list(ev.holdout.persons[:5])
    scores = model.score(keys)
    best = model.item_ids[np.argmax(scores, axis=1)]
    top = model.top_k(keys, 3)
    assert (top[:, 0] == best).all()
    excluded = model.top_k(keys, 3, exclude={k: [b] for k, b in zip(keys, best, strict=True)})
    assert not (excluded == best[:, None]).any()


def test_too_little_data_is_a_clear_outcome(org):
    few = build_interactions(org.marts).head(50)
    with pytest.raises(InsufficientData, match="too little history"):
        train(org.marts, few, CONFIG)


def test_truth_report_compares_approaches(org, evaluated):
    _, ev = evaluated
    tops = {a: ev.top_content(a) for a in (MODEL, "skill_gap")}
    report = truth_report(tops, org.truth_outcome)
    assert set(report["approach"]) == {MODEL, "skill_gap"}
    assert (
        report[["expected_completion", "mastered_share"]]
        .apply(lambda s: s.between(0, 1))
        .all()
        .all()
    )


def test_baselines_are_deterministic(org):
    h = make_holdout(org.marts, EvalConfig())
    for name in BASELINES:
        a = baseline_scores(name, h.marts, h.split.history, h.persons, h.items)
        b = baseline_scores(name, h.marts, h.split.history, h.persons, h.items)
        np.testing.assert_array_equal(a, b)


def _with_campaign(org, share: float):
    """The org plus one item that ``share`` of the workforce completed (an LMS campaign)."""
    marts = org.marts
    item = marts.content["content_id"].iloc[-1]
    emp = marts.employees
    takers = emp.loc[emp["is_active"] & ~emp["opted_out"], "person_key"]
    takers = takers.iloc[: int(len(takers) * share)]
    rows = marts.engagement.iloc[[0] * len(takers)].assign(
        person_key=takers.to_numpy(), content_id=item, is_completed=True, dropped_early=False
    )
    eng = marts.engagement[marts.engagement["content_id"] != item]
    return replace(marts, engagement=pd.concat([eng, rows], ignore_index=True)), item


def test_assigned_content_is_what_most_of_the_workforce_took(org):
    marts, campaign = _with_campaign(org, 0.9)
    interactions = build_interactions(marts)
    assert campaign in assigned_content(interactions, marts.employees)
    assert assigned_content(interactions, marts.employees, min_share=None).empty
    few, _ = _with_campaign(org, 0.2)
    assert campaign not in assigned_content(build_interactions(few), few.employees)


def test_assigned_content_is_no_candidate_and_no_positive_for_any_approach(org):
    marts, campaign = _with_campaign(org, 0.95)
    model, ev = evaluate_model(marts, replace(CONFIG, epochs=3), EvalConfig())
    h = ev.holdout
    cols = h.items.get_indexer(h.assigned)
    assert campaign in h.assigned and h.removed["assigned_items"] == len(cols)
    assert h.positives[:, cols].nnz == 0
    for approach, top in ev.top.items():
        assert not np.isin(top, cols).any(), approach
    assert model.params["assigned_items"] >= 1


def test_gap_features_pair_with_taught_skills(org):
    space = FeatureSpace.fit(org.marts, build_interactions(org.marts), CONFIG.features)
    gaps = {t.split(":")[1] for t in space.user_feature_names if t.startswith("gap:")}
    taught = {t.split(":")[1] for t in space.item_feature_names if t.startswith("teaches:")}
    assert gaps and gaps <= set(org.marts.skills["skill_id"])
    assert gaps & taught


def test_blend_weights_are_fitted_in_history_and_lightfm_alone_ranks_as_lightfm(org, evaluated):
    model, _ = evaluated
    weights = {k: model.params[f"blend_{k}"] for k in LIGHTFM_ONLY}
    assert sum(weights.values()) == pytest.approx(1.0) and min(weights.values()) >= 0
    assert model.params["epochs_trained"] >= 1
    keys = list(org.marts.employees["person_key"][:10])
    alone = replace(model, weights=LIGHTFM_ONLY)
    np.testing.assert_allclose(
        alone.score(keys), standardise(model.lightfm_score(keys)), rtol=1e-5, atol=1e-5
    )


def test_early_stopping_runs_at_least_min_epochs(org):
    history = build_interactions(org.marts)
    model = train(org.marts, history, replace(CONFIG, min_epochs=6, patience=1, epochs=8))
    assert len(model.params["validation_curve"]) >= 6
