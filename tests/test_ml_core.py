"""Recommender core: dataset, features, metrics, training, baselines, scoring."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ml.dataset import build_interactions, interaction_weight
from ml.evaluate import GLOBAL_TIME, RAW, EvalConfig, evaluate_protocol
from ml.features import FeatureSpace
from ml.model import LIGHTFM_ONLY, Representations, standardise
from ml.train import InsufficientData, Recipe, TrainConfig, recency_weighted, train
from ml.vanilla import VanillaConfig
from tests.fixtures.ml.synthetic import make_org

CONFIG = TrainConfig(epochs=30, patience=5, num_threads=1)
NO_VANILLA = VanillaConfig(seeds=())


@pytest.fixture(scope="module")
def org():
    return make_org(persons=300, items=100, seed=3)


@pytest.fixture(scope="module")
def evaluated(org):
    config = EvalConfig(protocols=(GLOBAL_TIME,), gate_protocol=GLOBAL_TIME)
    return evaluate_protocol(org.marts, GLOBAL_TIME, CONFIG, replace(config, vanilla=NO_VANILLA))


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


def test_training_is_deterministic_under_a_seed(org):
    history = build_interactions(org.marts)
    recipe = Recipe(3, dict(LIGHTFM_ONLY))
    a = train(org.marts, history, CONFIG, recipe)
    b = train(org.marts, history, CONFIG, recipe)
    c = train(org.marts, history, replace(CONFIG, seed=7), recipe)
    keys = list(org.marts.employees["person_key"][:20])
    np.testing.assert_array_equal(a.score(keys), b.score(keys))
    assert not np.array_equal(a.score(keys), c.score(keys))


def test_model_beats_global_popularity_on_a_role_driven_org(evaluated):
    _, ev = evaluated
    for stage in ("published", RAW):
        assert ev.value("ndcg_at_10", stage=stage) > ev.value(
            "ndcg_at_10", "global_popularity", stage
        )
    assert ev.value("auc", stage=RAW) > ev.value("auc", "global_popularity", RAW)


def test_skill_gap_baseline_recommends_gap_content(evaluated):
    _, ev = evaluated
    for stage in ("published", RAW):
        assert ev.value("gap_coverage", "skill_gap", stage) > ev.value(
            "gap_coverage", "global_popularity", stage
        )


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
    keys = list(ev.per_person["person_key"].astype(str).unique()[:5])
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
