"""--inject-bias: the same organisation, but one gender group steered away from advanced
and leadership content — visibly fewer such starts, nothing else changed by design."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.fixtures.sample_org import Org, make_org

CONFIG = {"employees": 300, "seed": 13, "months": 8}


def advanced_starts(org: Org) -> pd.DataFrame:
    catalog = org.csv("lms/catalog.csv").set_index("content_id")
    taught = org.csv("lms/content_skills.csv")
    category = org.csv("skills/skills.csv").set_index("skill_id")["category"]
    leadership = set(taught.loc[taught["skill_id"].map(category) == "leadership", "content_id"])
    ev = org.events()
    starts = ev[(ev["verb"] == "launched")].drop_duplicates(["employee_id", "object_id"])
    starts = starts[starts["object_id"].isin(catalog.index)].copy()
    starts["advanced"] = (starts["object_id"].map(catalog["level"]).astype(int) >= 4) | starts[
        "object_id"
    ].isin(leadership)
    gender = org.csv("hr/sensitive_attributes.csv").set_index("employee_id")["gender"]
    starts["gender"] = starts["employee_id"].map(gender)
    return starts


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Org, Org]:
    fair = make_org(tmp_path_factory.mktemp("fair"), **CONFIG)
    biased = make_org(tmp_path_factory.mktemp("biased"), inject_bias=("gender",), **CONFIG)
    return fair, biased


def test_steered_group_starts_less_advanced_content(pair) -> None:
    fair, biased = (advanced_starts(o) for o in pair)

    def female_share(starts: pd.DataFrame) -> float:
        return float((starts.loc[starts["advanced"], "gender"] == "female").mean())

    assert female_share(biased) < 0.75 * female_share(fair)
    rate = biased.groupby("gender")["advanced"].mean()
    assert rate["female"] < 0.7 * rate["male"]


def test_only_behaviour_changes(pair) -> None:
    fair, biased = pair
    for relative in ("hr/employees.csv", "hr/sensitive_attributes.csv", "lms/catalog.csv"):
        assert (fair.landing / relative).read_bytes() == (biased.landing / relative).read_bytes()
    fair_truth, biased_truth = fair.truth(), biased.truth()
    assert not fair_truth.persons["steered"].any()
    gender = biased.csv("hr/sensitive_attributes.csv").set_index("employee_id")["gender"]
    steered = biased_truth.persons["steered"]
    assert steered.any() and (gender[steered.index[steered]] == "female").all()
    assert biased_truth.meta["bias"]["steered_groups"] == ["women"]


def test_strength_zero_changes_nothing(tmp_path) -> None:
    clean = make_org(tmp_path / "clean", **CONFIG)
    zero = make_org(tmp_path / "zero", inject_bias=("gender",), bias_strength=0.0, **CONFIG)
    for path, other in zip(clean.statement_files(), zero.statement_files(), strict=True):
        assert path.read_bytes() == other.read_bytes()


def test_age_and_disability_steer_their_groups(tmp_path) -> None:
    org = make_org(tmp_path, inject_bias=("age", "disability"), bias_strength=1.0, **CONFIG)
    sens = org.csv("hr/sensitive_attributes.csv").set_index("employee_id")
    steered = org.truth().persons["steered"]
    year = org.summary.config.end_date.year
    expected = (year - sens["birth_year"].astype(int) >= 40) | (sens["disability"] == "yes")
    assert steered.any()
    assert (steered == expected.reindex(steered.index)).all()
    assert org.truth().meta["bias"]["probability"] == 1.0
    starts = advanced_starts(org)
    starts["steered"] = starts["employee_id"].map(steered)
    rate = starts.groupby("steered")["advanced"].mean()
    assert rate[True] < 0.5 * rate[False]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("inject_bias", ("height",), "unknown attribute"), ("bias_strength", 1.5, "between 0 and 1")],
)
def test_bias_options_are_checked(option: str, value, message: str) -> None:
    from skillpath.sample import SampleConfig

    with pytest.raises(ValueError, match=message):
        SampleConfig(**{option: value})
