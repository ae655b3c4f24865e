"""A clean sample organisation matches the landing formats (docs/data-contract.md): every
file, every column, every value range, and xAPI statements as an LRS exports them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skillpath.vocabulary import CONTENT_FORMATS
from tests.fixtures.sample_org import ADL, Org, make_org

COLUMNS = {
    "hr/employees.csv": [
        "employee_id",
        "email",
        "first_name",
        "last_name",
        "department",
        "job_code",
        "manager_id",
        "location",
        "hire_date",
        "employment_type",
        "status",
        "leave_date",
    ],
    "hr/sensitive_attributes.csv": ["employee_id", "gender", "birth_year", "disability"],
    "hr/roles.csv": ["job_code", "title", "job_family", "level"],
    "hr/role_skill_requirements.csv": ["job_code", "skill_id", "required_level", "importance"],
    "hr/personalisation_consent.csv": ["employee_id", "opted_out", "changed_at"],
    "skills/skills.csv": ["skill_id", "name", "category", "parent_skill_id"],
    "lms/catalog.csv": [
        "content_id",
        "title",
        "format",
        "duration_minutes",
        "level",
        "language",
        "provider",
        "active",
        "mandatory",
    ],
    "lms/content_skills.csv": ["content_id", "skill_id", "level_taught"],
    "lms/prerequisites.csv": ["content_id", "requires_content_id"],
    "surveys/pulse.csv": ["response_id", "employee_id", "survey_date", "engagement", "enps"],
    "surveys/course_feedback.csv": [
        "response_id",
        "employee_id",
        "content_id",
        "rating",
        "relevance",
        "submitted_at",
    ],
    "surveys/skill_assessments.csv": [
        "assessment_id",
        "employee_id",
        "skill_id",
        "level",
        "source",
        "assessed_at",
    ],
}
FORMATS = set(CONTENT_FORMATS)
CATEGORIES = {"technical", "digital", "data", "leadership", "communication", "compliance", "domain"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
DURATION = re.compile(r"^PT(\d+H)?(\d+M)?(\d+S)?$")
PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return make_org(tmp_path_factory.mktemp("clean"), employees=250, seed=11)


def ints(frame: pd.DataFrame, column: str) -> np.ndarray:
    return frame[column].astype(int).to_numpy()


def in_range(values: np.ndarray, lo: int, hi: int) -> bool:
    return bool(((values >= lo) & (values <= hi)).all())


def test_every_landing_file_has_the_contract_columns(org: Org) -> None:
    for relative, columns in COLUMNS.items():
        raw = (org.landing / relative).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw, relative
        assert list(org.csv(relative).columns) == columns, relative
        assert len(org.csv(relative)) > 0, relative
    names = [p.name for p in org.statement_files()]
    assert any(n.endswith(".jsonl") for n in names) and any(n.endswith(".json") for n in names)
    assert not any(p.is_relative_to(org.landing) for p in org.summary.truth_files)


def test_hr_files_describe_a_consistent_workforce(org: Org) -> None:
    emp = org.csv("hr/employees.csv")
    assert emp["employee_id"].is_unique and emp["email"].is_unique
    assert len(emp) == 250
    assert set(emp["employment_type"]) == {"full_time", "part_time"}
    assert set(emp["status"]) == {"active", "leaver"}
    leavers = emp["status"] == "leaver"
    assert (emp.loc[leavers, "leave_date"] != "").all() and (
        emp.loc[~leavers, "leave_date"] == ""
    ).all()
    hire = pd.to_datetime(emp["hire_date"])
    leave = pd.to_datetime(emp.loc[leavers, "leave_date"])
    assert (leave > hire[leavers]).all()
    managers = emp["manager_id"]
    assert (managers == "").sum() == 1  # the chief executive
    assert managers[managers != ""].isin(emp["employee_id"]).all()
    assert (managers != emp["employee_id"]).all()
    roles = org.csv("hr/roles.csv")
    assert emp["job_code"].isin(roles["job_code"]).all()
    assert in_range(ints(roles, "level"), 1, 5) and set(ints(roles, "level")) == {1, 2, 3, 4, 5}

    sens = org.csv("hr/sensitive_attributes.csv")
    assert set(sens["employee_id"]) == set(emp["employee_id"])
    assert (sens[["gender", "disability"]] != "").all().all()
    assert in_range(ints(sens, "birth_year"), 1955, 2010)
    consent = org.csv("hr/personalisation_consent.csv")
    assert set(consent["employee_id"]) == set(emp["employee_id"])
    assert set(consent["opted_out"]) <= {"true", "false"}
    assert 0 < (consent["opted_out"] == "true").mean() < 0.08
    pd.to_datetime(consent["changed_at"], format="ISO8601")


def test_roles_demand_more_as_they_climb(org: Org) -> None:
    req = org.csv("hr/role_skill_requirements.csv")
    roles = org.csv("hr/roles.csv")
    skills = org.csv("skills/skills.csv")
    assert (
        req["job_code"].isin(roles["job_code"]).all()
        and req["skill_id"].isin(skills["skill_id"]).all()
    )
    assert in_range(ints(req, "required_level"), 1, 5) and in_range(ints(req, "importance"), 1, 5)
    merged = req.merge(roles, on="job_code")
    merged["required_level"] = merged["required_level"].astype(int)
    by_level = merged.groupby(merged["level"].astype(int))["required_level"].mean()
    assert by_level.is_monotonic_increasing


def test_taxonomy_has_categories_and_parents(org: Org) -> None:
    skills = org.csv("skills/skills.csv")
    assert len(skills) >= 150 and skills["skill_id"].is_unique
    assert set(skills["category"]) == CATEGORIES
    parents = skills.loc[skills["parent_skill_id"] != "", "parent_skill_id"]
    assert len(parents) > 100 and parents.isin(skills["skill_id"]).all()


def test_catalogue_covers_formats_levels_and_skills(org: Org) -> None:
    cat = org.csv("lms/catalog.csv")
    assert cat["content_id"].is_unique
    assert cat["content_id"].str.startswith("https://lms.example.com/activities/").all()
    assert set(cat["format"]) == FORMATS
    assert set(ints(cat, "level")) == {1, 2, 3, 4, 5}
    assert (ints(cat, "duration_minutes") > 0).all()
    assert set(cat["active"]) == {"true", "false"}
    assert (cat[["language", "provider", "title"]] != "").all().all()
    taught = org.csv("lms/content_skills.csv")
    assert taught["content_id"].isin(cat["content_id"]).all()
    assert set(cat["content_id"]) == set(taught["content_id"])
    assert taught["skill_id"].isin(org.csv("skills/skills.csv")["skill_id"]).all()
    assert in_range(ints(taught, "level_taught"), 1, 5)


def test_catalogue_marks_the_compliance_campaigns_mandatory(org: Org) -> None:
    cat = org.csv("lms/catalog.csv").set_index("content_id")
    campaign = org.truth().content["campaign_month"] >= 0
    assert 0 < campaign.sum() < len(campaign)
    expected = np.where(campaign, "true", "false")
    assert (cat.loc[campaign.index, "mandatory"].to_numpy() == expected).all()


def test_prerequisites_form_an_acyclic_graph_over_the_catalogue(org: Org) -> None:
    pre = org.csv("lms/prerequisites.csv")
    cat = org.csv("lms/catalog.csv").set_index("content_id")
    assert len(pre) > 0
    assert (
        pre["content_id"].isin(cat.index).all() and pre["requires_content_id"].isin(cat.index).all()
    )
    remaining = pre.copy()
    while len(remaining):  # peel off items that require nothing left; a cycle would stall
        leaves = ~remaining["requires_content_id"].isin(remaining["content_id"])
        assert leaves.any(), "cycle in prerequisites"
        remaining = remaining[~leaves]


def test_surveys_are_in_range_and_refer_to_known_things(org: Org) -> None:
    employees = set(org.csv("hr/employees.csv")["employee_id"])
    pulse = org.csv("surveys/pulse.csv")
    assert in_range(ints(pulse, "engagement"), 1, 5) and in_range(ints(pulse, "enps"), 0, 10)
    assert pulse["response_id"].is_unique and pulse["employee_id"].isin(employees).all()
    assert pulse["survey_date"].nunique() == 12
    feedback = org.csv("surveys/course_feedback.csv")
    assert in_range(ints(feedback, "rating"), 1, 5) and in_range(ints(feedback, "relevance"), 1, 5)
    assert feedback["content_id"].isin(org.csv("lms/catalog.csv")["content_id"]).all()
    pd.to_datetime(feedback["submitted_at"], format="ISO8601")
    assess = org.csv("surveys/skill_assessments.csv")
    assert assess["assessment_id"].is_unique and assess["employee_id"].isin(employees).all()
    assert in_range(ints(assess, "level"), 1, 5)
    assert set(assess["source"]) == {"self", "peer", "manager", "test"}
    assert assess["skill_id"].isin(org.csv("skills/skills.csv")["skill_id"]).all()


def _check_statement(s: dict, employees: set[str], emails: set[str]) -> None:
    assert UUID.match(s["id"]), s["id"]
    actor = s["actor"]
    if "account" in actor:
        assert actor["account"]["homePage"] == "https://hr.example.com"
        assert actor["account"]["name"] in employees
    else:
        assert actor["mbox"].removeprefix("mailto:") in emails
    assert s["verb"]["id"].startswith(
        ("http://adlnet.gov/expapi/verbs/", "http://id.tincanapi.com/verb/")
    )
    assert s["object"]["id"].startswith("https://") or s["object"]["objectType"] == "StatementRef"
    stamp = pd.Timestamp(s["timestamp"])
    assert pd.Timestamp(s["stored"]) >= stamp
    result = s.get("result", {})
    if "score" in result:
        score = result["score"]
        assert 0 <= score["scaled"] <= 1 and score["min"] <= score["raw"] <= score["max"]
        assert result["success"] == (s["verb"]["id"] == ADL + "passed")
    if "duration" in result:
        assert DURATION.match(result["duration"]) and result["duration"] != "PT"
    if PROGRESS in result.get("extensions", {}):
        assert 0 <= result["extensions"][PROGRESS] <= 100
    registration = (s.get("context") or {}).get("registration")
    assert registration is None or UUID.match(registration)


def test_statements_are_valid_xapi(org: Org) -> None:
    employees = org.csv("hr/employees.csv")
    statements = org.statements()
    ids = [s["id"] for s in statements]
    assert len(ids) == len(set(ids))
    for s in statements:
        _check_statement(s, set(employees["employee_id"]), set(employees["email"]))
    verbs = {s["verb"]["id"].rsplit("/", 1)[-1] for s in statements}
    assert {"launched", "progressed", "completed", "passed", "failed", "terminated"} <= verbs
    catalog = set(org.csv("lms/catalog.csv")["content_id"])
    outside = [
        s
        for s in statements
        if s["object"].get("objectType") == "Activity" and s["object"]["id"] not in catalog
    ]
    assert 0 < len(outside) < 0.2 * len(statements)
    voids = [s for s in statements if s["verb"]["id"] == ADL + "voided"]
    assert voids and all(v["object"]["objectType"] == "StatementRef" for v in voids)
    assert {v["object"]["id"] for v in voids} <= set(ids)


def test_one_export_identifies_people_by_email(org: Org) -> None:
    array_file = next(p for p in org.statement_files() if p.suffix == ".json")
    items = json.loads(array_file.read_text())
    assert items and all("mbox" in s["actor"] for s in items)
    assert all(s["timestamp"].endswith("+00:00") for s in items)
    jsonl = [
        json.loads(line)
        for p in org.statement_files()
        if p.suffix == ".jsonl"
        for line in p.read_text().splitlines()
    ]
    assert all("account" in s["actor"] for s in jsonl)


def test_activity_happens_while_employed_in_working_hours(org: Org) -> None:
    ev = org.events()
    emp = org.csv("hr/employees.csv").set_index("employee_id")
    hire = pd.to_datetime(emp["hire_date"]).dt.tz_localize("UTC")
    leave = pd.to_datetime(emp["leave_date"].replace("", None)).dt.tz_localize("UTC")
    assert (ev["ts"] >= ev["employee_id"].map(hire)).all()
    after_leaving = ev["ts"] >= ev["employee_id"].map(leave)
    assert not after_leaving.any()
    assert ev["employee_id"].map(leave).notna().any()  # leavers were active before
    assert (ev["ts"].dt.day_of_week < 5).all()
    assert ev["ts"].dt.hour.between(7, 21).all()
    end = pd.Timestamp(org.summary.config.end_date, tz="UTC") + pd.Timedelta(days=1)
    assert ev["ts"].max() < end


def test_statement_files_are_monthly_exports_by_stored_time(org: Org) -> None:
    for path in org.statement_files():
        if path.suffix != ".jsonl":
            continue
        month = path.stem.rsplit("-", 2)
        stored = [json.loads(line)["stored"] for line in path.read_text().splitlines()]
        assert stored == sorted(stored)
        assert {s[:7] for s in stored} <= {f"{month[1]}-{month[2]}", max(s[:7] for s in stored)}


def test_feedback_follows_a_completion(org: Org) -> None:
    att = org.attempts()
    done = att[att["completed"]].groupby(["employee_id", "content_id"])["started"].min()
    feedback = org.csv("surveys/course_feedback.csv")
    keys = list(zip(feedback["employee_id"], feedback["content_id"], strict=True))
    started = done.reindex(pd.MultiIndex.from_tuples(keys))
    assert started.notna().all()
    submitted = pd.to_datetime(feedback["submitted_at"], utc=True, format="ISO8601")
    assert (submitted.to_numpy() > started.to_numpy()).all()


def test_truth_is_written_outside_the_landing_directory(org: Org) -> None:
    assert (org.truth_dir / "truth.json").exists()
    landing_files = {p.name for p in Path(org.landing).rglob("*")}
    assert not landing_files & {"truth.json", "persons.parquet", "skills_end.parquet"}
