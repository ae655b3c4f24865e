"""--inject-defects produces every kind of bad row it claims, in the numbers it claims;
without it there are none (the clean checks live in test_sample_landing.py)."""

from __future__ import annotations

import json
from collections import Counter

import pandas as pd
import pytest

from tests.fixtures.sample_org import ADL, Org, make_org

STATEMENT_KINDS = {
    "malformed_json",
    "duplicate_same",
    "duplicate_conflicting",
    "unknown_actor",
    "score_out_of_range",
    "no_time",
    "missing_actor",
    "missing_verb",
}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return make_org(tmp_path_factory.mktemp("defects"), employees=200, seed=21, inject_defects=True)


def claimed(org: Org) -> Counter:
    meta = json.loads((org.truth_dir / "truth.json").read_text())
    assert meta["defects"] == org.summary.defects
    out: Counter = Counter()
    for d in meta["defects"]:
        out[d["kind"]] += d["count"]
    return out


def parsed_statements(org: Org) -> tuple[list[dict], int]:
    good, malformed = [], 0
    for _, _, text in org.raw_statements():
        try:
            good.append(json.loads(text))
        except json.JSONDecodeError:
            malformed += 1
    return good, malformed


def test_every_kind_is_injected(org: Org) -> None:
    kinds = claimed(org)
    assert STATEMENT_KINDS | {
        "out_of_range",
        "unknown_employee",
        "invalid_value",
        "bom_crlf",
    } <= set(kinds)
    assert all(count > 0 for count in kinds.values())
    assert "defects" in org.summary.render()


def test_statement_defects_are_where_the_manifest_says(org: Org) -> None:
    kinds = claimed(org)
    statements, malformed = parsed_statements(org)
    assert malformed == kinds["malformed_json"]
    employees = set(org.csv("hr/employees.csv")["employee_id"])
    emails = {"mailto:" + e for e in org.csv("hr/employees.csv")["email"]}
    assert sum("actor" not in s for s in statements) == kinds["missing_actor"]
    assert sum("verb" not in s for s in statements) == kinds["missing_verb"]
    assert sum("timestamp" not in s and "stored" not in s for s in statements) == kinds["no_time"]
    scaled = [s["result"]["score"]["scaled"] for s in statements if "score" in s.get("result", {})]
    assert sum(v > 1 for v in scaled) == kinds["score_out_of_range"]
    strangers = [
        s
        for s in statements
        if "actor" in s
        and s["actor"].get("account", {}).get("name", "") not in employees
        and s["actor"].get("mbox") not in emails
    ]
    assert len(strangers) == kinds["unknown_actor"]
    by_id: dict[str, list[dict]] = {}
    for s in statements:
        by_id.setdefault(s["id"], []).append(s)
    repeats = [group for group in by_id.values() if len(group) > 1]
    same = sum(len(g) - 1 for g in repeats if all(x == g[0] for x in g))
    conflicting = [g for g in repeats if any(x != g[0] for x in g)]
    # a re-sent copy of a statement that also got another defect no longer equals it
    assert same + len(conflicting) == kinds["duplicate_same"] + kinds["duplicate_conflicting"]
    assert any(
        x["verb"]["id"] == ADL + "experienced" for g in conflicting for x in g if "verb" in x
    )


def test_csv_defects_are_where_the_manifest_says(org: Org) -> None:
    per_file = {(d["file"], d["kind"]): d["count"] for d in org.summary.defects}
    for relative in ("hr/employees.csv", "surveys/pulse.csv"):
        raw = (org.landing / relative).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") == raw.count(b"\n")
        assert per_file[(relative, "bom_crlf")] == 1
    assert b"\r\n" not in (org.landing / "hr/roles.csv").read_bytes()

    def bad_rows(relative: str, **checks) -> int:
        frame = org.csv(relative)
        bad = [frame[column].map(check) for column, check in checks.items()]
        return int(pd.concat(bad, axis=1).any(axis=1).sum())

    def out_of_range(lo: int, hi: int):
        return lambda v: not lo <= int(v) <= hi

    assert (
        bad_rows("lms/content_skills.csv", level_taught=out_of_range(1, 5))
        == per_file[("lms/content_skills.csv", "out_of_range")]
    )
    assert (
        bad_rows("surveys/pulse.csv", enps=out_of_range(0, 10), engagement=out_of_range(1, 5))
        == per_file[("surveys/pulse.csv", "out_of_range")]
    )
    assert (
        bad_rows("surveys/course_feedback.csv", rating=out_of_range(1, 5))
        == per_file[("surveys/course_feedback.csv", "out_of_range")]
    )
    assessments = "surveys/skill_assessments.csv"
    assert (
        bad_rows(assessments, level=out_of_range(1, 5)) == per_file[(assessments, "out_of_range")]
    )
    invalid = bad_rows(assessments, source=lambda v: v not in {"self", "peer", "manager", "test"})
    assert invalid == per_file[(assessments, "invalid_value")]

    employees = set(org.csv("hr/employees.csv")["employee_id"])
    for relative in ("surveys/pulse.csv", "surveys/course_feedback.csv", assessments):
        frame = org.csv(relative)
        strangers = (~frame["employee_id"].isin(employees)).sum()
        assert strangers == per_file[(relative, "unknown_employee")], relative
        assert frame.iloc[:, 0].is_unique, relative


def test_defects_are_a_small_share(org: Org) -> None:
    kinds = claimed(org)
    statements = len(org.raw_statements())
    bad = sum(kinds[k] for k in STATEMENT_KINDS)
    assert bad < 0.03 * statements


def test_clean_run_claims_no_defects(tmp_path) -> None:
    org = make_org(tmp_path, employees=40, months=2, seed=21)
    assert org.summary.defects == []
    assert json.loads((org.truth_dir / "truth.json").read_text())["defects"] == []
