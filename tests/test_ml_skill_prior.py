"""Expected skill levels: peers' levels stand in where a person's own evidence is thin."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.ranking import recommend
from ml.skill_prior import MIN_PEERS, expected_gaps, skill_levels
from tests.fixtures.publish.org import FakeScorer, Org

NEW = "n" * 64  # no evidence at all
EXPERT = "e" * 64  # strong evidence of a low level
PEERS = [f"{i:064d}" for i in range(MIN_PEERS + 1)]  # hold S1 at 3


def _org(peers: list[str] = PEERS, **kwargs) -> Org:
    return Org(
        persons={p: "DA" for p in [NEW, EXPERT, *peers]},
        content=kwargs.pop("content", {"c1": ("course", {"S1": 2}), "c2": ("course", {"S1": 4})}),
        levels={(EXPERT, "S1"): 1.0, **{(p, "S1"): 3.0 for p in peers}},
        **kwargs,
    )


def _expected(org: Org, person: str, skill: str = "S1") -> float:
    levels = skill_levels(org.marts())
    return float(levels.lookup(pd.Series([person]), pd.Series([skill]))[0])


def test_no_evidence_is_expected_at_what_role_peers_hold() -> None:
    org = _org()
    levels = skill_levels(org.marts())
    row = levels.person_keys.get_loc(NEW)
    assert levels.confidence[row, levels.skill_ids.get_loc("S1")] == 0
    assert _expected(org, NEW) == pytest.approx(3.0, abs=0.35)


def test_strong_evidence_keeps_its_own_estimate() -> None:
    expert = _expected(_org(), EXPERT)
    assert abs(expert - 1.0) < abs(expert - 3.0)


def test_too_few_peers_give_no_prior() -> None:
    org = _org(peers=PEERS[: MIN_PEERS - 2])  # with EXPERT: below the minimum group
    assert _expected(org, NEW) == 0.0
    assert _expected(org, EXPERT) == pytest.approx(1.0)


def test_opted_out_peers_feed_no_prior() -> None:
    org = _org(opted_out=set(PEERS))
    assert _expected(org, NEW) == 0.0


def test_gaps_are_measured_from_the_expected_level() -> None:
    gaps = expected_gaps(_org().marts()).set_index(["person_key", "skill_id"])
    new, expert = gaps.loc[(NEW, "S1")], gaps.loc[(EXPERT, "S1")]
    assert new["gap"] == pytest.approx(new["required_level"] - new["expected_level"])
    assert new["gap"] < expert["gap"]  # the mart reads NEW as level 0: a bigger gap


def test_ranking_skips_content_below_the_expected_level_of_a_person_without_evidence() -> None:
    org = _org()
    out = recommend(org.marts(), FakeScorer(list(org.content), {"c1": 9.0, "c2": 1.0}))
    items = set(out.loc[out["person_key"] == NEW, "content_id"])
    assert "c1" not in items  # level 2: what peers of the role already hold
    assert "c2" in items
    assert "c1" in set(out.loc[out["person_key"] == EXPERT, "content_id"])


def test_no_evidence_on_a_skill_outside_the_role_is_no_level_whatever_its_practitioners_hold() -> (
    None
):
    # the analysts who practise negotiation (S3, not required of analysts) hold it at 3;
    # an analyst with no trace of it is not taken to hold it, on S3 as in the ranking
    org = _org(content={"c1": ("course", {"S1": 2}), "neg": ("course", {"S3": 2})})
    org.levels.update({(p, "S3"): 3.0 for p in PEERS})
    assert _expected(org, NEW, "S3") == 0.0
    assert _expected(org, NEW, "S1") == pytest.approx(3.0, abs=0.35)  # required: the prior
    assert _expected(org, PEERS[0], "S3") == pytest.approx(3.0, abs=0.35)  # own evidence
    out = recommend(org.marts(), FakeScorer(list(org.content), {"c1": 9.0, "neg": 1.0}))
    assert set(out.loc[out["person_key"] == NEW, "content_id"]) == {"neg"}
    assert "neg" not in set(out.loc[out["person_key"] == PEERS[0], "content_id"])
