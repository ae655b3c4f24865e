"""Each ranking rule on a tiny hand-made organisation, switched on and off."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from ml.ranking import RankingConfig, RankingContext, ranked_lists, recommend
from tests.fixtures.publish.org import FakeScorer, Org, random_org

ANA = "a" * 64  # a data analyst
BEN = "b" * 64  # another data analyst


def _org(**kwargs) -> Org:
    content = kwargs.pop(
        "content",
        {
            "c1": ("video", {"S1": 1}),
            "c2": ("course", {"S1": 2}),
            "c3": ("course", {"S2": 2}),
            "c4": ("podcast", {}),
            "c5": ("article", {"S3": 2}),
        },
    )
    return Org(persons=kwargs.pop("persons", {ANA: "DA", BEN: "DA"}), content=content, **kwargs)


def _items(out, person: str) -> list[str]:
    return out[out["person_key"] == person].sort_values("rank")["content_id"].tolist()


def _scorer(org: Org, **base: float) -> FakeScorer:
    return FakeScorer(list(org.content), base)


def test_completed_or_passed_content_is_never_recommended() -> None:
    org = _org(completed={(ANA, "c1")}, passed={(ANA, "c2")})
    scorer = _scorer(org, c1=9, c2=8, c3=1)
    assert not {"c1", "c2"} & set(_items(recommend(org.marts(), scorer), ANA))
    assert {"c1", "c2"} <= set(_items(recommend(org.marts(), scorer), BEN))
    off = RankingConfig(exclude_completed=False)
    assert {"c1", "c2"} <= set(_items(recommend(org.marts(), scorer, off), ANA))


def test_content_whose_every_skill_is_held_is_skipped_but_skill_less_content_is_not() -> None:
    org = _org(levels={(ANA, "S1"): 2.0})
    out = recommend(org.marts(), _scorer(org))
    assert not {"c1", "c2"} & set(_items(out, ANA))
    assert "c4" in _items(out, ANA)  # teaches no skill
    assert {"c1", "c2"} <= set(_items(out, BEN))
    off = recommend(org.marts(), _scorer(org), RankingConfig(skip_mastered=False))
    assert {"c1", "c2"} <= set(_items(off, ANA))


def test_held_within_the_mastery_margin_counts_as_mastered() -> None:
    org = _org(levels={(ANA, "S1"): 1.6})  # reads as level 2: c2 (S1 at 2) is held
    assert "c2" not in _items(recommend(org.marts(), _scorer(org)), ANA)
    exact = RankingConfig(mastery_margin=0.0, mastery_margin_thin_evidence=0.0)
    assert "c2" in _items(recommend(org.marts(), _scorer(org), exact), ANA)
    assert "c1" not in _items(recommend(org.marts(), _scorer(org), exact), ANA)


def test_the_mastery_band_widens_as_evidence_thins() -> None:
    levels = {(ANA, "S1"): 1.3, (BEN, "S1"): 1.3}
    org = _org(levels=levels, confidence={(ANA, "S1"): 1.0, (BEN, "S1"): 0.0})
    out = recommend(org.marts(), _scorer(org))
    assert "c2" in _items(out, ANA)  # 1.3 on firm evidence: level 2 is still ahead
    assert "c2" not in _items(out, BEN)  # 1.3 on no evidence: may well hold level 2


def test_content_teaching_one_skill_still_lacking_is_kept() -> None:
    org = _org(content={"mix": ("course", {"S1": 2, "S2": 3})}, levels={(ANA, "S1"): 4.0})
    assert _items(recommend(org.marts(), _scorer(org)), ANA) == ["mix"]


def test_prerequisites_met_by_completion_or_by_skill() -> None:
    carl = "c" * 64
    org = _org(
        persons={ANA: "DA", BEN: "DA", carl: "DA"},
        content={"basic": ("course", {"S1": 2}), "adv": ("course", {"S1": 4})},
        prerequisites=[("adv", "basic")],
        completed={(BEN, "basic")},
        levels={(carl, "S1"): 2.5},
    )
    out = recommend(org.marts(), _scorer(org, adv=5, basic=1))
    assert _items(out, ANA) == ["basic"]  # not ready for adv
    assert _items(out, BEN) == ["adv"]
    assert _items(out, carl) == ["adv"]  # basic is mastered, and covers the prerequisite
    met = {
        row.person_key: [r for r in json.loads(row.reasons) if r["type"] == "prerequisite_met"]
        for row in out.itertuples()
        if row.content_id == "adv"
    }
    assert met[BEN][0]["prerequisites"] == [{"content_id": "basic", "met_by": "completed"}]
    assert met[carl][0]["prerequisites"] == [{"content_id": "basic", "met_by": "skill_covered"}]
    off = recommend(org.marts(), _scorer(org), RankingConfig(require_prerequisites=False))
    assert "adv" in _items(off, ANA)


def test_a_prerequisite_taken_as_mastered_does_not_block_what_follows_it() -> None:
    # 1.6 on good evidence reads as level 2 (the mastery band): "basic" (S1 at 2) is
    # skipped as mastered, so it cannot also be the missing step that keeps "adv" away
    org = _org(
        content={"basic": ("course", {"S1": 2}), "adv": ("course", {"S1": 3})},
        prerequisites=[("adv", "basic")],
        levels={(ANA, "S1"): 1.6, (BEN, "S1"): 1.2},
    )
    out = recommend(org.marts(), _scorer(org, adv=5, basic=1))
    assert _items(out, ANA) == ["adv"]
    assert _items(out, BEN) == ["basic"]  # 1.2 is short of level 2: basic comes first
    reasons = json.loads(out[out["person_key"] == ANA]["reasons"].iloc[0])
    met = [r["prerequisites"] for r in reasons if r["type"] == "prerequisite_met"]
    assert met == [[{"content_id": "basic", "met_by": "skill_covered"}]]
    exact = RankingConfig(mastery_margin=0.0, mastery_margin_thin_evidence=0.0)
    assert _items(recommend(org.marts(), _scorer(org, adv=5, basic=1), exact), ANA) == ["basic"]


def test_level_fit_prefers_the_next_level_up() -> None:
    org = _org(
        content={
            "lvl2": ("course", {"S1": 2}),
            "lvl4": ("course", {"S1": 4}),
            "top": ("podcast", {}),
            "low": ("podcast", {}),
        },
        levels={(ANA, "S1"): 1.4},
    )
    scorer = _scorer(org, top=1.0, lvl4=0.9, lvl2=0.85, low=0.0)
    on = _items(recommend(org.marts(), scorer), ANA)
    assert on.index("lvl2") < on.index("lvl4")
    off = _items(recommend(org.marts(), scorer, RankingConfig(level_fit=False)), ANA)
    assert off.index("lvl4") < off.index("lvl2")


def test_formats_that_work_are_preferred_and_dropped_formats_demoted() -> None:
    content = {
        "vid": ("video", {}),
        "crs": ("course", {}),
        "wsh": ("workshop", {}),
        "top": ("article", {}),
        "low": ("article", {}),
        "w1": ("workshop", {}),
        "w2": ("workshop", {}),
    }
    org = _org(
        content=content,
        affinity={ANA: {"video": 0.9, "course": 0.3}},
        completed={(ANA, "w1")},
        dropped={(ANA, "w1"), (ANA, "w2")},
    )
    base = {"top": 1.0, "crs": 0.6, "wsh": 0.58, "vid": 0.55, "low": 0.5, "w2": 0.0}
    scorer = _scorer(org, **base)
    on = _items(recommend(org.marts(), scorer), ANA)
    assert on.index("vid") < on.index("crs")
    assert on.index("low") < on.index("wsh")  # workshops: started 2, dropped 2
    off_cfg = RankingConfig(format_preference=False, demote_dropped_formats=False)
    off = _items(recommend(org.marts(), scorer, off_cfg), ANA)
    assert off.index("crs") < off.index("vid")
    assert off.index("wsh") < off.index("low")
    row = recommend(org.marts(), scorer).query("person_key == @ANA and content_id == 'vid'")
    reasons = json.loads(row["reasons"].iloc[0])
    assert {"type": "preferred_format", "format": "video", "completion_rate": 0.9} in reasons


def test_diversity_caps_items_per_skill_and_k_is_configurable() -> None:
    content = {f"py{i}": ("course", {"S1": 3}) for i in range(6)}
    content |= {f"sql{i}": ("course", {"S2": 2}) for i in range(6)}
    content |= {"pod": ("podcast", {})}
    org = _org(content=content)
    scorer = _scorer(org, **{f"py{i}": 10 - i for i in range(6)})
    # the copies are near-duplicates too: that rule is off to see the cap alone
    capped = RankingConfig(k=5, max_per_skill=2, skip_near_duplicates=False)
    out = recommend(org.marts(), scorer, capped)
    items = _items(out, ANA)
    assert len(items) == 5
    assert sum(i.startswith("py") for i in items) == 2
    uncapped = RankingConfig(k=5, max_per_skill=None, skip_near_duplicates=False)
    uncapped = recommend(org.marts(), scorer, uncapped)
    assert sum(i.startswith("py") for i in _items(uncapped, ANA)) == 5


def test_only_active_content_is_recommended() -> None:
    org = _org(inactive={"c1"})
    out = recommend(org.marts(), _scorer(org, c1=100))
    assert "c1" not in set(out["content_id"])


def test_invalid_config_says_what_to_change() -> None:
    with pytest.raises(ValueError, match="candidates"):
        RankingConfig(k=20, candidates=10)


def test_invariants_on_a_random_organisation() -> None:
    org, scorer = random_org(persons=150, items=120, seed=3)
    marts = org.marts()
    config = RankingConfig(k=8, candidates=30, max_per_skill=3, chunk_size=64)
    out = recommend(marts, scorer, config)
    assert out.groupby("person_key").size().eq(8).all()
    assert not out[["person_key", "content_id"]].duplicated().any()
    pairs = set(zip(out["person_key"], out["content_id"], strict=True))
    assert not pairs & (org.completed | org.passed)
    assert not set(out["content_id"]) & org.inactive
    assert not out.loc[out["person_key"].isin(org.opted_out), "personalised"].any()
    taught = marts.content_skills.merge(out, on="content_id")
    assert taught.groupby(["person_key", "skill_id"]).size().max() <= 3
    ranks = out.groupby("person_key")["rank"].apply(list)
    assert all(r == list(range(1, 9)) for r in ranks)
    assert recommend(marts, scorer, config).equals(out)  # deterministic
    # the published score: on 0–1 and never higher further down a list, both paths
    assert out["score"].between(0, 1).all()
    assert out.groupby("person_key")["score"].is_monotonic_decreasing.all()
    assert out["score"].max() > 0.5 and out["score"].nunique() > 100  # a scale, not a flag


@pytest.mark.parametrize(
    "weights",
    [
        {},
        {"format_weight": 1.0, "dropped_format_penalty": 0.8, "level_fit_weight": 0.5},
        {"format_preference": False, "demote_dropped_formats": False, "level_fit": False},
    ],
    ids=["defaults", "heavy weights", "no adjustments"],
)
def test_the_score_stays_on_0_to_1_whatever_the_rule_weights(weights: dict) -> None:
    """The scale follows the rules' weights (rules.score_range): a weight the range
    leaves out shows here as a score outside 0–1."""
    org, scorer = random_org(persons=120, items=100, seed=4)
    config = RankingConfig(k=8, candidates=20, **weights)
    for model in (scorer, None):
        score = recommend(org.marts(), model, config)["score"]
        assert score.between(0, 1).all(), (score.min(), score.max())
        assert score.max() > 0.6 and score.min() < 0.4  # the scale is used, not squeezed


def test_mandatory_content_is_never_recommended_and_popularity_alone_excludes_nothing() -> None:
    persons = {f"{i:064x}": "DA" for i in range(25)}
    takers = list(persons)[:20]  # 80 % of the workforce engaged with c1 and with c2
    touched = {(p, c) for p in takers for c in ("c1", "c2")}
    newcomer = list(persons)[-1]
    scorer_base = {"c1": 9, "c2": 8}
    org = _org(persons=persons, dropped=touched, mandatory={"c2"})
    out = _items(recommend(org.marts(), _scorer(org, **scorer_base)), newcomer)
    assert "c2" not in out  # the catalogue says it is assigned
    assert out[0] == "c1"  # as popular, but chosen: a candidate like any other
    without_column = _org(persons=persons, dropped=touched)  # no is_mandatory at all
    assert "is_mandatory" not in without_column.marts().content.columns
    out = _items(recommend(without_column.marts(), _scorer(org, **scorer_base)), newcomer)
    assert out[:2] == ["c1", "c2"]


def test_ranked_lists_are_the_published_lists_of_those_persons() -> None:
    """What the evaluation judges (``ranked_lists``) is what ``recommend`` publishes."""
    org, scorer = random_org(persons=60, items=80, seed=5)
    marts = org.marts()
    published = recommend(marts, scorer)
    some = sorted(set(published["person_key"]))[::3]  # opted-out persons among them
    assert set(some) & org.opted_out
    judged = ranked_lists(RankingContext(marts), scorer, some, RankingConfig())
    expected = published[published["person_key"].isin(some)]
    columns = ["person_key", "rank", "content_id", "personalised"]
    pd.testing.assert_frame_equal(
        judged[columns].sort_values(["person_key", "rank"]).reset_index(drop=True),
        expected[columns].sort_values(["person_key", "rank"]).reset_index(drop=True),
    )


def test_ranking_in_chunks_of_persons_gives_the_same_lists() -> None:
    # memory is bounded by ranking chunk_size persons at a time; every rule acts within
    # one person's list, so the chunks must not change a single list
    org, scorer = random_org(persons=90, items=80, seed=6)
    marts = org.marts()
    whole = recommend(marts, scorer, RankingConfig(chunk_size=1000))
    for size in (1, 7):
        pd.testing.assert_frame_equal(
            recommend(marts, scorer, RankingConfig(chunk_size=size)), whole
        )


def test_a_short_personalised_list_is_topped_up_from_the_role_path_after_its_items() -> None:
    """The tiers: every personalised item ranks before any role-path top-up, even where
    the role path scores higher (gap content scores above 1, the model's at most 1 plus
    its rule weights); the top-up repeats no item and shares the per-skill cap."""
    known = {"m1": ("video", {"S1": 1}), "m2": ("course", {"S1": 2}), "m3": ("podcast", {})}
    content = known | {
        "r1": ("course", {"S1": 3}),
        "r2": ("course", {"S1": 4}),
        "r3": ("course", {"S1": 5}),
        "r4": ("course", {"S2": 1}),
        "r5": ("course", {"S2": 2}),
    }
    content |= {f"p{i}": ("podcast", {}) for i in range(1, 5)}
    org = _org(content=content)
    # the model knows three items only (the rest launched after it was trained)
    scorer = FakeScorer(list(known), {"m1": 1.0, "m2": 3.0, "m3": 2.0})
    config = RankingConfig(k=8, candidates=8, max_per_skill=3)
    out = recommend(org.marts(), scorer, config)
    mine = out[out["person_key"] == ANA].sort_values("rank")
    assert mine["content_id"].tolist() == ["m2", "m3", "m1", "r4", "r1", "r5", "p1", "p2"]
    assert mine["personalised"].tolist() == [True] * 3 + [False] * 5
    judged = ranked_lists(RankingContext(org.marts()), scorer, [ANA], config)
    assert judged["content_id"].tolist() == mine["content_id"].tolist()


def test_near_duplicates_are_never_twice_in_a_list() -> None:
    """Numbered copies of a title (case aside) and items teaching the same skills at the
    same levels: the better-scored one stays, and a dropped copy takes nothing with it
    (vid copies ws, which is dropped); content teaching no skill is no one's copy."""
    content = {
        "ws": ("workshop", {"S1": 2}),
        "ws2": ("workshop", {"S2": 1}),  # "title of WS (2)": a numbered copy of ws
        "vid": ("video", {"S1": 2}),  # teaches exactly what ws teaches
        "mix": ("course", {"S1": 2, "S2": 3}),  # S1 at 2 and more: not a copy
        "pod1": ("podcast", {}),
        "pod2": ("podcast", {}),
    }
    org = _org(content=content)
    marts = org.marts()
    titles = {"ws": "Python Basics Workshop", "ws2": "python basics workshop (2)"}
    marts.content["title"] = marts.content["content_id"].map(titles).fillna(marts.content["title"])
    scorer = _scorer(org, ws2=5, ws=4, vid=3, mix=2, pod1=1, pod2=1)
    assert _items(recommend(marts, scorer), ANA) == ["ws2", "vid", "mix", "pod1", "pod2"]
    off = recommend(marts, scorer, RankingConfig(skip_near_duplicates=False))
    assert set(_items(off, ANA)) == set(content)
