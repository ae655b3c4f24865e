"""The rule signals of the blend on tiny hand-made organisations: the skill-gap rule
(``ml.baselines.gap_match``: the next step on each gap, in a language the person reads,
``ml.language``) and the smoothed role rates (``ml.baselines.smoothed_role_rates``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.baselines import gap_match, smoothed_role_rates
from ml.language import language_fit
from tests.fixtures.publish.org import Org

ANA = "a" * 64  # data analyst: S1 required 3 (importance 5), S2 required 2 (importance 3)
BEN = "b" * 64
CARL = "c" * 64

LADDER = {
    "s1_l1": ("video", {"S1": 1}),
    "s1_l2": ("course", {"S1": 2}),
    "s1_l3": ("course", {"S1": 3}),
    "s1_l5": ("course", {"S1": 5}),
    "s2_l1": ("article", {"S2": 1}),
    "s2_l2": ("article", {"S2": 2}),
}


def _scores(org: Org, person: str = ANA) -> pd.Series:
    marts = org.marts()
    persons = pd.Index(list(org.persons), dtype=object)
    items = pd.Index(list(org.content), dtype=object)
    matrix = gap_match(marts, persons, items).toarray()
    return pd.Series(matrix[persons.get_loc(person)], index=items)


def test_the_next_level_up_scores_highest_and_far_steps_lowest() -> None:
    s = _scores(Org({ANA: "DA"}, dict(LADDER), levels={(ANA, "S1"): 1.0}))
    assert s["s1_l2"] > s["s1_l3"] > s["s1_l5"]
    assert s["s1_l2"] > s["s1_l1"]
    assert s["s1_l5"] < 0.01 * s["s1_l2"]


def test_a_persons_scores_share_out_their_attention_over_their_gaps() -> None:
    s = _scores(Org({ANA: "DA"}, dict(LADDER), levels={(ANA, "S1"): 1.0}))
    assert s.sum() == pytest.approx(1.0)
    # S1: gap 2 × importance 5 = 10, S2: gap 2 × importance 3 = 6 (no evidence, no peers)
    s1 = s[[c for c in s.index if c.startswith("s1")]].sum()
    assert s1 == pytest.approx(10 / 16)


def test_content_for_a_skill_without_gap_scores_zero() -> None:
    s = _scores(Org({ANA: "DA"}, dict(LADDER), levels={(ANA, "S2"): 2.0}))
    assert (s[["s2_l1", "s2_l2"]] == 0).all()
    assert s["s1_l1"] > 0


def test_content_in_a_language_nobody_around_reads_is_no_step() -> None:
    content = {**LADDER, "s1_l2_es": ("course", {"S1": 2})}
    done = {(BEN, "s2_l1"), (BEN, "s2_l2"), (CARL, "s2_l1")}
    org = Org(
        {ANA: "DA", BEN: "DA", CARL: "DA"},
        content,
        levels={(ANA, "S1"): 1.0},
        completed=done,
        language={"s1_l2_es": "es"},
    )
    s = _scores(org)
    assert s["s1_l2_es"] == pytest.approx(0.0, abs=1e-6)
    assert s["s1_l2"] > s["s1_l1"] > 0


def test_own_starts_show_a_language_the_location_does_not_read() -> None:
    content = {**LADDER, "de_1": ("video", {}), "de_2": ("video", {})}
    lang = {"de_1": "de", "de_2": "de"}
    org = Org(
        {ANA: "DA", BEN: "DA", CARL: "DA"},
        content,
        completed={(ANA, "de_1"), (ANA, "de_2"), (BEN, "s2_l1"), (CARL, "s2_l2")},
        language=lang,
    )
    fit = language_fit(org.marts(), pd.Index([ANA, BEN], dtype=object))
    assert fit.loc[ANA, "de"] > 0.5 * fit.loc[ANA, "en"]
    assert fit.loc[BEN, "de"] < fit.loc[ANA, "de"]
    assert fit.loc[BEN, "en"] == 1.0


def test_opted_out_starts_feed_no_language_share() -> None:
    content = {**LADDER, "de_1": ("video", {})}
    org = Org(
        {ANA: "DA", BEN: "DA"},
        content,
        completed={(BEN, "de_1"), (ANA, "s2_l1")},
        language={"de_1": "de"},
        opted_out={BEN},
    )
    fit = language_fit(org.marts(), pd.Index([ANA, BEN], dtype=object))
    assert fit.loc[ANA, "de"] < 0.01
    assert np.isclose(fit.loc[BEN, "de"], fit.loc[ANA, "de"])  # BEN gets the location's


def _history(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_key", "content_id"]).assign(weight=1.0)


def test_a_role_with_few_learners_is_shrunk_to_its_family() -> None:
    employees = pd.DataFrame(
        {
            "person_key": [f"p{i}" for i in range(12)],
            "job_code": ["big"] * 10 + ["small", "small"],
            "job_family": ["fam"] * 12,
        }
    )
    taken = [(f"p{i}", "common") for i in range(10)] + [("p10", "odd")]
    items = pd.Index(["common", "odd", "never"], dtype=object)
    rates = smoothed_role_rates(_history(taken), employees, items)
    # the small role's one learner took "odd": not enough to outrank what the family takes
    assert rates.loc["small", "common"] > rates.loc["small", "odd"] > rates.loc["small", "never"]
    # ten of ten learners: the role's own figure dominates its prior
    assert rates.loc["big", "common"] > 0.9
    assert "nobody" not in rates.index
