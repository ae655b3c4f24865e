"""Reasons are present, truthful, and opted-out persons get the role path."""

from __future__ import annotations

import json

import pandas as pd

from ml.ranking import RankingConfig, recommend
from ml.reasons import sentence
from ml.skill_prior import expected_gaps
from tests.fixtures.publish.org import FakeScorer, Org, random_org

ANA, BEN, OLA = "a" * 64, "b" * 64, "0" * 64


def test_every_recommendation_has_reasons_and_gap_reasons_are_true() -> None:
    org, scorer = random_org(persons=120, items=100, seed=7)
    marts = org.marts()
    out = recommend(marts, scorer, RankingConfig(k=6, candidates=30))
    gaps = expected_gaps(marts).set_index(["person_key", "skill_id"])
    closes = 0
    for row in out.itertuples():
        reasons = json.loads(row.reasons)
        assert reasons, row
        assert row.reason_text.endswith(".")
        for reason in reasons:
            if reason["type"] == "closes_gap":
                closes += 1
                truth = gaps.loc[(row.person_key, reason["skill_id"])]
                assert truth["gap"] > 0
                assert reason["from_level"] == round(truth["expected_level"], 1)
                assert reason["job_code"] == truth["job_code"]
                taught = marts.content_skills.query(
                    "content_id == @row.content_id and skill_id == @reason['skill_id']"
                )
                assert reason["to_level"] == taught["level_taught"].iloc[0]
                assert reason["to_level"] > truth["expected_level"]  # it moves the person up
    assert closes > 50  # the check above ran on real cases


def test_opted_out_persons_get_the_role_path_with_as_many_items() -> None:
    content = {f"py{i}": ("course", {"S1": 1 + i % 5}) for i in range(10)}
    content |= {f"sql{i}": ("video", {"S2": 1 + i % 3}) for i in range(6)}
    content |= {"pod": ("podcast", {})}
    org = Org(persons={ANA: "DA", OLA: "DA"}, content=content, opted_out={OLA})
    scorer = FakeScorer(list(content), {"pod": 10.0})
    out = recommend(org.marts(), scorer, RankingConfig(k=6, max_per_skill=3))
    mine, theirs = out[out["person_key"] == ANA], out[out["person_key"] == OLA]
    assert OLA not in scorer.asked
    assert len(mine) == len(theirs) == 6
    assert mine["personalised"].all() and not theirs["personalised"].any()
    # ordered by gap: Python (gap 3 × importance 5) before SQL (gap 2 × importance 3)
    first = theirs.sort_values("rank")["content_id"].tolist()
    assert first[0].startswith("py") and "pod" not in first
    for reasons in theirs["reasons"].map(json.loads):
        kinds = {r["type"] for r in reasons}
        assert "role_path" in kinds
        assert not kinds & {"similar_colleagues_completed", "preferred_format", "model_match"}


def test_without_a_model_everyone_gets_the_role_path() -> None:
    org, _ = random_org(persons=40, items=60, seed=1)
    out = recommend(org.marts(), None, RankingConfig(k=5, candidates=20))
    assert not out["personalised"].any()
    assert out.groupby("person_key").size().eq(5).all()
    assert out["person_key"].nunique() == 40


def test_colleague_share_only_for_groups_large_enough() -> None:
    team = {f"{i:064x}": "DA" for i in range(1, 7)}
    content = {"x": ("course", {}), "y": ("course", {})}
    completed = {(p, "x") for p in list(team)[1:4]}
    org = Org(persons=team, content=content, completed=completed)
    scorer = FakeScorer(list(content), {"x": 1.0, "y": 0.5})
    newcomer = next(iter(team))

    def share(min_group: int) -> list[dict]:
        out = recommend(org.marts(), scorer, RankingConfig(k=2, colleague_min_group=min_group))
        row = out[(out["person_key"] == newcomer) & (out["content_id"] == "x")]
        reasons = json.loads(row["reasons"].iloc[0])
        return [r for r in reasons if r["type"] == "similar_colleagues_completed"]

    assert share(5) == [
        {"type": "similar_colleagues_completed", "share": 0.6, "colleagues": 5, "job_code": "DA"}
    ]
    assert share(6) == []


def test_sentence_is_built_from_the_reasons() -> None:
    reasons = [
        {
            "type": "closes_gap",
            "skill_id": "S1",
            "skill": "Python",
            "from_level": 1.4,
            "to_level": 2,
            "job_code": "DA",
            "role": "Data Analyst",
        },
        {"type": "next_level", "skill_id": "S1", "skill": "Python", "level": 2},
        {"type": "preferred_format", "format": "video", "completion_rate": 0.9},
    ]
    assert sentence(reasons) == (
        "Builds Python from level 1.4 to 2 (your next level), required for your role "
        "Data Analyst; a video, a format you usually finish."
    )


def test_empty_organisation_gives_an_empty_frame_with_the_columns() -> None:
    org = Org(persons={}, content={"x": ("course", {})})
    out = recommend(org.marts(), None)
    assert isinstance(out, pd.DataFrame) and out.empty
    assert {"person_key", "rank", "content_id", "reasons", "reason_text"} <= set(out.columns)
