"""The simulated history carries the signals a recommender should find — and they come
from the latent truth, measured here against it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.fixtures.sample_org import Org, make_org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return make_org(tmp_path_factory.mktemp("behaviour"), employees=400, seed=5)


@pytest.fixture(scope="module")
def attempts(org: Org) -> pd.DataFrame:
    return first_half_attempts(org)


def first_half_attempts(org: Org) -> pd.DataFrame:
    """Attempts of the first half year, with the content's level above the person's
    true level in its main skill at the start (skills move little in six months)."""
    truth = org.truth()
    att = org.attempts()
    att = att[att["started"] < att["started"].min() + pd.Timedelta(days=182)].copy()
    content = truth.content.loc[att["content_id"]]
    person = truth.persons.index.get_indexer(att["employee_id"])
    skill = pd.Index(truth.skill_ids).get_indexer(content["skill_1"])
    att["gap"] = content["level_1"].to_numpy() - truth.skills_start[person, skill]
    att["format"] = content["format"].to_numpy()
    att["pref"] = (
        truth.persons.loc[att["employee_id"]]
        .to_numpy(dtype=object)[
            np.arange(len(att)),
            truth.persons.columns.get_indexer("pref_" + att["format"]),
        ]
        .astype(float)
    )
    return att


def test_completion_is_highest_one_level_up(attempts: pd.DataFrame) -> None:
    level = np.rint(attempts["gap"])
    rate = attempts.groupby(level)["completed"].mean()
    size = attempts.groupby(level).size()
    assert size.loc[1] >= 100 and size.loc[3] >= 30
    assert rate.loc[1] > rate.loc[3] + 0.1
    assert rate.loc[1] > rate.loc[-1] + 0.1  # too easy loses people too


def test_tests_are_failed_more_the_harder_the_content(attempts: pd.DataFrame) -> None:
    scored = attempts[attempts["passed"] | attempts["failed"]]
    easy = scored[scored["gap"] <= 1]
    hard = scored[scored["gap"] >= 2]
    assert len(easy) >= 50 and len(hard) >= 30
    assert easy["passed"].mean() > hard["passed"].mean() + 0.2


def test_people_finish_formats_they_like(attempts: pd.DataFrame) -> None:
    liked = attempts["pref"] > attempts["pref"].quantile(0.75)
    disliked = attempts["pref"] < attempts["pref"].quantile(0.25)
    assert attempts.loc[liked, "completed"].mean() > attempts.loc[disliked, "completed"].mean()


def test_self_ratings_are_inflated_and_tests_accurate(org: Org) -> None:
    assessed = org.csv("surveys/skill_assessments.csv").set_index("assessment_id")
    error = assessed["level"].astype(int) - org.truth().assessments["true_level"]
    by_source = error.groupby(assessed["source"])
    bias = by_source.mean()
    rmse = by_source.apply(lambda e: float(np.sqrt((e**2).mean())))
    assert bias["self"] > 0.3
    assert bias["self"] > bias["manager"] > bias["test"] - 0.05
    assert rmse["test"] < rmse["manager"] < rmse["peer"]
    assert rmse["test"] < rmse["self"]


def test_new_hires_have_little_history(org: Org) -> None:
    """Apart from their mandatory onboarding, recent hires have hardly any history
    to personalise from (the cold start a recommender must handle)."""
    emp = org.csv("hr/employees.csv").set_index("employee_id")
    hired = pd.to_datetime(emp["hire_date"])
    end = pd.Timestamp(org.summary.config.end_date)
    staying = emp["status"] == "active"
    recent = hired[staying & (hired > end - pd.Timedelta(days=60))].index
    veterans = hired[staying & (hired < end - pd.Timedelta(days=400))].index
    att = org.attempts()
    mandatory = org.truth().content.loc[att["content_id"], "campaign_month"].to_numpy() >= 0
    voluntary = att[~mandatory].groupby("employee_id").size()
    assert len(recent) >= 5
    assert (att.loc[mandatory, "employee_id"].isin(recent)).any()  # onboarding happened
    new, old = voluntary.reindex(recent).fillna(0), voluntary.reindex(veterans).fillna(0)
    assert new.mean() < 0.25 * old.mean()


def test_skills_grow_with_completed_learning(org: Org) -> None:
    truth = org.truth()
    growth = pd.Series((truth.skills_end - truth.skills_start).sum(axis=1), truth.persons.index)
    att = org.attempts()
    completions = (
        att[att["completed"]].groupby("employee_id").size().reindex(growth.index).fillna(0)
    )
    assert (growth >= -1e-6).all()
    many = completions >= completions.quantile(0.75)
    few = completions <= completions.quantile(0.25)
    assert growth[many].mean() > 1.5 * growth[few].mean()


def test_pulse_engagement_moves_with_learning(org: Org) -> None:
    pulse = org.csv("surveys/pulse.csv")
    pulse["month"] = pulse["survey_date"].str[:7]
    att = org.attempts()
    done = att[att["completed"]]
    months = done.assign(month=done["started"].dt.strftime("%Y-%m"))
    active = set(zip(months["employee_id"], months["month"], strict=True))
    learning = [k in active for k in zip(pulse["employee_id"], pulse["month"], strict=True)]
    engagement = pulse["engagement"].astype(int)
    assert engagement[learning].mean() > engagement[~np.asarray(learning)].mean()


def test_opted_out_people_still_learn(org: Org) -> None:
    consent = org.csv("hr/personalisation_consent.csv")
    opted = set(consent.loc[consent["opted_out"] == "true", "employee_id"])
    assert opted
    assert opted & set(org.attempts()["employee_id"])
