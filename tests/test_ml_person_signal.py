"""A person's own signal (item-item weights on their history) without per-person
parameters, and validation by persons that says when it cannot decide."""

from __future__ import annotations

import dataclasses
import logging
import pickle
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from ml.dataset import build_interactions
from ml.model import standardise
from ml.train import FALLBACK_BLEND, TrainConfig, train
from ml.validation import ValidationConfig, validation_split
from skillpath.config import load_config
from tests.fixtures.ml.synthetic import make_org

CONFIG = TrainConfig(epochs=12, patience=3, min_epochs=3, num_threads=1)


@pytest.fixture(scope="module")
def org():
    return make_org(persons=250, items=90, seed=5)


@pytest.fixture(scope="module")
def model(org):
    return train(org.marts, build_interactions(org.marts), CONFIG)


def _twin(marts, person_key: str, twin_key: str, history: pd.DataFrame | None):
    """``marts`` with a new person identical to ``person_key`` in every feature (role,
    skills, gaps, affinities) and with ``history`` as their engagement (None: none)."""

    def copy_rows(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[frame["person_key"] == person_key].assign(person_key=twin_key)
        return pd.concat([frame, rows], ignore_index=True)

    engagement = marts.engagement
    if history is not None:
        engagement = pd.concat([engagement, history.assign(person_key=twin_key)], ignore_index=True)
    return replace(
        marts,
        employees=copy_rows(marts.employees),
        skill_profile=copy_rows(marts.skill_profile),
        skill_gaps=copy_rows(marts.skill_gaps),
        person_engagement=copy_rows(marts.person_engagement),
        engagement=engagement,
    )


def test_the_stored_model_holds_no_person(org, model):
    stored = model.unbound()
    blob = pickle.dumps(stored)
    keys = org.marts.employees["person_key"].astype(str)
    assert not [k for k in keys if k.encode() in blob]
    # LightFM has one user row per feature token, none per person
    assert stored.model.user_embeddings.shape[0] == len(stored.features.user_vocab)
    assert stored.itemitem is not None
    n = len(stored.itemitem.items)
    assert stored.itemitem.weights.shape == (n, n)
    assert set(stored.itemitem.items) <= set(org.marts.content["content_id"])


def test_an_item_never_predicts_itself(org, model):
    weights = model.itemitem.weights
    assert np.all(np.diag(weights) == 0.0)
    # a person whose only positive is item j: j gets nothing from it, j's co-takers do
    item = model.itemitem.items[0]
    alone = pd.DataFrame({"person_key": ["p"], "content_id": [item], "weight": [1.0]})
    row = model.itemitem.history(alone, pd.Index(["p"], dtype=object))
    scores = np.asarray(row @ model.itemitem.aligned(model.item_ids)).ravel()
    j = list(model.item_ids).index(item)
    assert scores[j] == 0.0 and np.abs(scores).max() > 0


def test_a_known_persons_list_follows_their_own_history(org, model):
    history = build_interactions(org.marts)
    counts = history[history["weight"] > 0].groupby("person_key").size()
    person = counts.idxmax()
    engagement = org.marts.engagement
    own = engagement[engagement["person_key"] == person]
    # the same features, another history: the next most active person's
    other = engagement[engagement["person_key"] == counts.drop(person).idxmax()]
    marts = _twin(org.marts, person, "twin-other", other)
    marts = _twin(marts, person, "twin-same", own)
    bound = model.bind(marts, build_interactions(marts))
    keys = [person, "twin-same", "twin-other"]
    features = bound.lightfm_score(keys)
    np.testing.assert_allclose(features[0], features[2], rtol=1e-6)  # same features
    exclude = {k: [] for k in keys}
    top = bound.top_k(keys, 10, exclude)
    assert list(top[0]) == list(top[1])  # same features, same history: same list
    assert list(top[0]) != list(top[2])  # same features, other history: another list


def test_a_new_hire_is_scored_from_features(org, model):
    history = build_interactions(org.marts)
    person = history["person_key"].iloc[0]
    marts = _twin(org.marts, person, "new-hire", None)
    bound = model.bind(marts, build_interactions(marts))
    signals = bound._signals.rows(np.array([len(marts.employees) - 1]), np.array([False]))
    assert np.all(signals["itemitem"] == 0.0)  # nothing of their own yet
    lightfm = bound.lightfm_score(["new-hire", person])
    np.testing.assert_allclose(lightfm[0], lightfm[1], rtol=1e-6)  # features carry them
    score = bound.score(["new-hire"])[0]
    assert np.isfinite(score).all() and score.std() > 0
    expected = sum(
        w * standardise(part[None, :])[0]
        for name, w in bound.weights.items()
        for part in [lightfm[0] if name == "lightfm" else signals[name][0]]
    )
    np.testing.assert_allclose(score, expected, rtol=1e-4, atol=1e-4)


def test_validation_holds_back_each_validation_persons_latest_positives(org):
    history = build_interactions(org.marts)
    split = validation_split(history, CONFIG.validation, CONFIG.seed)
    held = split.holdout
    assert held["person_key"].nunique() >= CONFIG.validation.min_persons
    for person, rows in held.groupby("person_key"):
        seen = split.history[split.history["person_key"] == person]
        assert rows["first_event_at"].min() > seen["first_event_at"].max()
    # everyone else's history trains whole
    others = history[~history["person_key"].isin(held["person_key"])]
    assert split.history["person_key"].isin(others["person_key"]).sum() == len(others)


def test_validation_that_cannot_decide_falls_back_and_says_so(org, caplog):
    history = build_interactions(org.marts)
    too_many = replace(CONFIG, validation=replace(CONFIG.validation, min_persons=10_000))
    with caplog.at_level(logging.WARNING, logger="ml.train"):
        model = train(org.marts, history, too_many)
    assert model.params["validation_fallback"].startswith(
        f"{model.params['validation_persons']} validation persons"
    )
    assert model.params["epochs_trained"] == too_many.validation.fallback_epochs
    assert dict(model.weights) == FALLBACK_BLEND
    assert "validation cannot decide" in caplog.text
    # a history of a few positives per person: nobody qualifies at all
    thin = history[history.groupby("person_key").cumcount() < 3]
    thin_model = train(org.marts, thin, replace(CONFIG, min_interactions=50))
    assert thin_model.params["validation_persons"] == 0
    assert thin_model.params["validation_fallback"]
    # and a validated run is not flagged
    assert train(org.marts, history, CONFIG).params["validation_fallback"] == ""


def test_training_with_one_thread_is_deterministic(org, model):
    history = build_interactions(org.marts)
    again = train(org.marts, history, CONFIG)
    other_seed = train(org.marts, history, replace(CONFIG, seed=7))
    keys = list(org.marts.employees["person_key"][:30])
    np.testing.assert_array_equal(model.score(keys), again.score(keys))
    assert model.params == again.params
    # the seed is what LightFM draws from (the blend may give LightFM no weight here)
    assert not np.array_equal(model.lightfm_score(keys), other_seed.lightfm_score(keys))


def test_the_shipped_validation_settings_are_the_ml_defaults():
    # ml is used without skillpath (notebooks, tests): its defaults must be what ships
    shipped = dataclasses.asdict(load_config({}).training.validation)
    assert ValidationConfig(**shipped) == ValidationConfig()
