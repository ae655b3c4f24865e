"""``ml.evidence`` / ``ml.dataset.as_of``: the skill profile rebuilt at a date.

On a warehouse built by dbt (the tiny organisation of tests/fixtures/marts), the profile
rebuilt at the marts' own date must be ``mart_skill_profile`` (so the SQL and the Python
formulas cannot drift apart), and nothing after a cutoff may change the profile as of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.data import Marts, load_marts
from ml.dataset import as_of
from ml.evidence import EvidenceRules, profile_as_of
from tests.fixtures.marts.build import load_tiny_org, marts_environment, materialize_marts
from tests.fixtures.ml.dbt_rules import dbt_profile_rules

KEYS = ["person_key", "skill_id"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Marts, pd.Timestamp]]:
    """The tiny organisation's marts and the end of their "now" day."""
    data = tmp_path_factory.mktemp("evidence") / "data"
    env = marts_environment(data)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        load_tiny_org(Path(env["SKILLPATH_WAREHOUSE"]))
        assert materialize_marts().success
    with duckdb.connect(env["SKILLPATH_WAREHOUSE"], read_only=True) as con:
        marts = load_marts(con)
        (now,) = con.execute("select as_of_date from intermediate.int_as_of_date").fetchone()
    yield marts, pd.Timestamp(now) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(KEYS).reset_index(drop=True)


def test_as_of_the_marts_date_reproduces_mart_skill_profile(built) -> None:
    marts, now = built
    assert len(marts.skill_evidence) > 0
    mart = _sorted(marts.skill_profile)
    rebuilt = _sorted(as_of(marts, now).skill_profile)
    assert rebuilt[KEYS].equals(mart[KEYS])
    for column in ("estimated_level", "confidence", "evidence_weight"):
        np.testing.assert_allclose(rebuilt[column], mart[column].astype(float), atol=1e-6)
    assert (rebuilt["evidence_count"].to_numpy() == mart["evidence_count"].to_numpy()).all()
    assert (
        pd.to_datetime(rebuilt["last_evidence_at"]) == pd.to_datetime(mart["last_evidence_at"])
    ).all()


def test_as_of_the_marts_date_reproduces_mart_skill_gaps(built) -> None:
    marts, now = built
    rebuilt = as_of(marts, now).skill_gaps
    for column in ("estimated_level", "confidence", "gap", "weighted_gap"):
        np.testing.assert_allclose(
            rebuilt[column].astype(float), marts.skill_gaps[column].astype(float), atol=1e-6
        )


def _future(marts: Marts, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Evidence after ``cutoff`` of every kind that could leak: a harder completion in a
    skill already learned (it would hide the easier one), a new skill, a new assessment."""
    later = cutoff + pd.Timedelta(days=3)
    rows = [
        ("python", "learning", "learning_passed", 5.0, 0.6),
        ("python", "learning", "learning_completed", 0.5, 0.4),
        ("brand_new_skill", "assessment", "test", 5.0, 1.0),
        ("sql", "assessment", "self", 0.0, 0.3),
    ]
    return pd.DataFrame(
        [
            {
                "person_key": p,
                "skill_id": skill,
                "evidence_kind": kind,
                "evidence_source": source,
                "evidence_at": later,
                "reported_level": level,
                "level": level,
                "reliability": reliability,
            }
            for p in marts.employees["person_key"]
            for skill, kind, source, level, reliability in rows
        ]
    )


def test_nothing_after_the_cutoff_changes_the_profile_as_of_it(built) -> None:
    marts, _ = built
    at = pd.to_datetime(marts.skill_evidence["evidence_at"])
    cutoff = at.sort_values().iloc[len(at) // 2]  # some evidence on either side
    assert (at > cutoff).any() and (at <= cutoff).any()
    before = as_of(marts, cutoff)
    earlier_only = replace(marts, skill_evidence=marts.skill_evidence[at <= cutoff])
    with_more_future = replace(
        marts,
        skill_evidence=pd.concat([marts.skill_evidence, _future(marts, cutoff)], ignore_index=True),
    )
    for other in (as_of(earlier_only, cutoff), as_of(with_more_future, cutoff)):
        pd.testing.assert_frame_equal(_sorted(other.skill_profile), _sorted(before.skill_profile))
        pd.testing.assert_frame_equal(other.skill_gaps, before.skill_gaps)
    assert (pd.to_datetime(before.skill_profile["last_evidence_at"]) <= cutoff).all()


def _evidence(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["skill_id", "evidence_kind", "evidence_at", "level", "reliability"]
    ).assign(person_key="p", evidence_source="x", reported_level=0.0)


def test_learning_counts_at_the_highest_level_learned_up_to_the_cutoff() -> None:
    """A harder item completed after the cutoff must not hide the easier one before it."""
    rules = EvidenceRules(half_life_days=365, confidence_prior_weight=0.5)
    evidence = _evidence(
        ("s", "learning", pd.Timestamp("2024-01-10 09:00"), 2.0, 0.4),
        ("s", "learning", pd.Timestamp("2024-03-10 09:00"), 4.0, 0.6),
    )
    early = profile_as_of(evidence, pd.Timestamp("2024-02-01"), rules)
    assert early["estimated_level"].tolist() == [2.0]
    late = profile_as_of(evidence, pd.Timestamp("2024-04-01"), rules)
    assert late["estimated_level"].tolist() == [4.0]
    assert late["evidence_count"].tolist() == [1]


def test_recency_is_counted_in_days_to_the_cutoff_date() -> None:
    rules = EvidenceRules(half_life_days=100, confidence_prior_weight=0.5)
    evidence = _evidence(("s", "assessment", pd.Timestamp("2024-01-01 23:00"), 3.0, 1.0))
    profile = profile_as_of(evidence, pd.Timestamp("2024-04-10 08:00"), rules)  # 100 days
    assert profile["evidence_weight"].tolist() == pytest.approx([0.5])
    assert profile["confidence"].tolist() == pytest.approx([0.5])


def test_rules_are_those_the_marts_were_built_with(built) -> None:
    """dbt writes its vars into marts.mart_skill_profile_rules; ml reads them from there."""
    marts, _ = built
    rules = EvidenceRules.of_marts(marts.skill_profile_rules)
    assert rules == EvidenceRules.of_marts(dbt_profile_rules())
