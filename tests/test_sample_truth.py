"""The ground truth answers what would happen if a person took a content item — and its
answers agree with what happened in the simulated history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skillpath.sample import SampleConfig, generate
from skillpath.sample.truth import Truth, load_truth
from tests.fixtures.sample_org import Org, make_org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return make_org(tmp_path_factory.mktemp("truth"), employees=200, seed=17)


@pytest.fixture(scope="module")
def truth(org: Org) -> Truth:
    return org.truth()


def all_pairs(truth: Truth) -> tuple[np.ndarray, np.ndarray]:
    people, content = truth.persons.index.to_numpy(), truth.content.index.to_numpy()
    return np.repeat(people, len(content)), np.tile(content, len(people))


def test_expected_outcome_is_a_probability_and_a_gain(truth: Truth) -> None:
    people, content = all_pairs(truth)
    out = truth.expected_outcome(people, content)
    assert list(out.columns) == ["p_complete", "p_pass", "expected_gain"] and len(out) == len(
        people
    )
    assert out["p_complete"].between(0, 1).all() and (out["expected_gain"] >= 0).all()
    scored = truth.content.loc[content, "format"].isin(["course", "interactive", "microlearning"])
    assert out.loc[scored.to_numpy(), "p_pass"].between(0, 1).all()
    assert out.loc[~scored.to_numpy(), "p_pass"].isna().all()


def test_mastered_content_teaches_little(truth: Truth) -> None:
    people, content = all_pairs(truth)
    mastered = truth.mastered(people, content)
    gain = truth.expected_outcome(people, content)["expected_gain"].to_numpy()
    assert 0 < mastered.mean() < 0.5
    assert gain[mastered].mean() < 0.3 * gain[~mastered].mean()


def test_mastered_means_every_taught_skill_held(truth: Truth) -> None:
    person = truth.persons.index[0]
    skills = pd.Series(truth.skills_end[0], index=truth.skill_ids)
    for content_id, row in truth.content.head(40).iterrows():
        taught = [(row[f"skill_{k}"], row[f"level_{k}"]) for k in (1, 2, 3) if row[f"skill_{k}"]]
        expected = all(skills[s] >= level for s, level in taught)
        assert truth.mastered([person], [content_id])[0] == expected


def test_truth_predicts_what_happened(org: Org, truth: Truth) -> None:
    """Voluntary attempts the truth rates likely were completed more often."""
    att = org.attempts()
    mandatory = truth.content.loc[att["content_id"], "campaign_month"].to_numpy() >= 0
    att = att[~mandatory]
    p = truth.expected_outcome(att["employee_id"], att["content_id"])["p_complete"].to_numpy()
    high, low = p > np.quantile(p, 0.75), p < np.quantile(p, 0.25)
    assert att["completed"][high].mean() > att["completed"][low].mean() + 0.15


def test_unknown_ids_are_named(truth: Truth) -> None:
    with pytest.raises(KeyError, match="E000000"):
        truth.expected_outcome(["E000000"], [truth.content.index[0]])


def test_missing_truth_says_how_to_make_it(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="skillpath sample"):
        load_truth(tmp_path)


def test_truth_inside_landing_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="would be ingested"):
        generate(SampleConfig(employees=30), tmp_path / "landing", tmp_path / "landing" / "truth")
