"""Without the optional sources (surveys, assessments, taxonomy, role requirements,
content skills, prerequisites, consent) the marts still build: what needs them is empty
or null, the rest is intact."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from orchestration.runner import failed_checks
from tests.fixtures.marts.build import load_tiny_org, materialize_marts

OPTIONAL = (
    "hr_roles",
    "hr_role_skill_requirements",
    "hr_personalisation_consent",
    "skills",
    "lms_content_skills",
    "lms_prerequisites",
    "survey_pulse",
    "survey_course_feedback",
    "survey_skill_assessments",
)


def test_marts_build_without_optional_sources(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_TARGET_PATH", str(skillpath_env / "dbt_target"))
    warehouse = skillpath_env / "warehouse.duckdb"
    load_tiny_org(warehouse)
    with duckdb.connect(str(warehouse)) as con:
        for table in OPTIONAL:
            con.execute(f"delete from raw.{table}")

    result = materialize_marts()

    assert result.success and failed_checks(result) == []
    with duckdb.connect(str(warehouse), read_only=True) as con:

        def count(table: str) -> int:
            return con.execute(f"select count(*) from marts.{table}").fetchone()[0]

        for table in ("mart_skill_gaps", "mart_org_skill_gaps", "mart_skill_profile", "dim_skill"):
            assert count(table) == 0, table
        assert count("dim_employee") == 8
        assert count("fct_learning_events") == 12
        assert count("fct_content_engagement") == 5
        assert con.execute(
            "select count(*), count(pulse_engagement), count(enps) from marts.mart_engagement"
        ).fetchone() == (8, 0, 0)
        assert con.execute(
            "select count(*), count(share_required_skills_met), count(enps) "
            "from marts.mart_learning_kpis"
        ).fetchone() == (2, 0, 0)
    page = (skillpath_env / "reports" / "org_skill_gaps" / "index.html").read_text()
    assert "no skill gaps to show" in page
