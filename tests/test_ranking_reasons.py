"""Reasons are present, truthful, and opted-out persons get the role path."""

from __future__ import annotations

import json
import math

import pandas as pd

from ml.ranking import FORMATS, RankingConfig, recommend
from ml.reasons import REASON_TYPES, SkillStep, format_phrase, sentence
from ml.skill_prior import expected_gaps
from tests.fixtures.publish.lists import reason_mismatches
from tests.fixtures.publish.org import FakeScorer, Org, random_org

ANA, BEN, OLA = "a" * 64, "b" * 64, "0" * 64


def test_every_recommendation_has_reasons_and_gap_reasons_are_true() -> None:
    org, scorer = random_org(persons=120, items=100, seed=7)
    marts = org.marts()
    out = recommend(marts, scorer, RankingConfig(k=6, candidates=30))
    gaps = expected_gaps(marts).set_index(["person_key", "skill_id"])
    closes = nexts = 0
    for row in out.itertuples():
        reasons = json.loads(row.reasons)
        assert reasons, row
        assert row.reason_text.endswith(".")
        for reason in reasons:
            if reason["type"] == "closes_gap":
                closes += 1
                truth = gaps.loc[(row.person_key, reason["skill_id"])]
                assert truth["gap"] > 0
                # truncated, so that it reads below the level taught
                assert reason["from_level"] == math.floor(truth["expected_level"] * 10) / 10
                assert reason["job_code"] == truth["job_code"]
                taught = marts.content_skills.query(
                    "content_id == @row.content_id and skill_id == @reason['skill_id']"
                )
                assert reason["to_level"] == taught["level_taught"].iloc[0]
                assert reason["to_level"] > truth["expected_level"]  # it moves the person up
                assert reason["to_level"] > reason["from_level"]
            if reason["type"] == "next_level":
                truth = gaps.loc[(row.person_key, reason["skill_id"])]
                assert reason["level"] == math.floor(truth["expected_level"]) + 1
                nexts += 1
    assert closes > 50 and nexts > 10  # the checks above ran on real cases


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


def test_every_sentence_says_what_its_own_reasons_say() -> None:
    """Over every reason type on a random organisation (with and without a model): the
    skill a sentence names carries its own levels, next level included."""
    org, scorer = random_org(persons=150, items=120, seed=11)
    out = pd.concat(
        [recommend(org.marts(), s, RankingConfig(k=8, candidates=40)) for s in (scorer, None)]
    )
    problems = [
        (row.reason_text, issue)
        for row in out.itertuples()
        for issue in reason_mismatches(row.reasons, row.reason_text)
    ]
    assert not problems, problems[:5]
    types = {r["type"] for reasons in out["reasons"] for r in json.loads(reasons)}
    assert types == set(REASON_TYPES)
    two_skills = [r for r in out["reasons"].map(json.loads) if _gaps(r) > 1]
    assert len(two_skills) > 20  # where the old sentence could mix two skills' figures


def _gaps(reasons: list[dict]) -> int:
    return sum(r["type"] == "closes_gap" for r in reasons)


def test_the_next_level_is_said_of_the_skill_it_belongs_to() -> None:
    first = SkillStep("S1", "SAS", 2.5, 5, False, "DA", "Data Analyst")
    second = SkillStep("S2", "SQL", 1.2, 2, True, "DA", "Data Analyst")
    reasons = first.reasons() + second.reasons()
    assert sentence(reasons).startswith("Builds SAS from level 2.5 to 5, required")
    assert SkillStep.from_reasons(reasons) == [first, second]
    assert not reason_mismatches(json.dumps(reasons), sentence(reasons))
    wrong = sentence(reasons).replace("to 5,", "to 5 (your next level),")
    assert reason_mismatches(json.dumps(reasons), wrong)


def test_formats_are_said_with_their_article() -> None:
    said = {
        f: sentence([{"type": "preferred_format", "format": f, "completion_rate": 0.8}])
        for f in FORMATS
    }
    assert said["article"].startswith("An article, ") and said["video"].startswith("A video, ")
    assert said["interactive"].startswith("An interactive ")
    for fmt, text in said.items():
        reasons = json.dumps([{"type": "preferred_format", "format": fmt, "completion_rate": 0.8}])
        assert not reason_mismatches(reasons, text), text
    assert format_phrase("e-book") == "an e-book"  # a format added later
