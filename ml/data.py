"""The marts the recommender and the ranking read, loaded once into DataFrames.

The column contract is in docs/architecture.md ("Marts: columns other parts rely on");
loading goes through this one function so that the model, its baselines and the ranking
rules all see the same snapshot of the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import duckdb
import pandas as pd

from ml.evidence import empty_evidence

MART_TABLES = {
    "employees": "dim_employee",
    "content": "dim_content",
    "skills": "dim_skill",
    "content_skills": "bridge_content_skill",
    "prerequisites": "bridge_content_prerequisite",
    "engagement": "fct_content_engagement",
    "skill_profile": "mart_skill_profile",
    "skill_gaps": "mart_skill_gaps",
    "person_engagement": "mart_engagement",
    "skill_evidence": "fct_skill_evidence",
    "skill_profile_rules": "mart_skill_profile_rules",
}


@dataclass(frozen=True)
class Marts:
    employees: pd.DataFrame
    content: pd.DataFrame
    skills: pd.DataFrame
    content_skills: pd.DataFrame
    prerequisites: pd.DataFrame
    engagement: pd.DataFrame
    skill_profile: pd.DataFrame
    skill_gaps: pd.DataFrame
    person_engagement: pd.DataFrame
    # every piece of skill evidence; empty in marts assembled by hand without it
    skill_evidence: pd.DataFrame = field(default_factory=empty_evidence)
    # the dbt vars of the skill-profile rule (ml.evidence.EvidenceRules.of_marts)
    skill_profile_rules: pd.DataFrame = field(default_factory=pd.DataFrame)


def load_marts(con: duckdb.DuckDBPyConnection, schema: str = "marts") -> Marts:
    """Read every mart the recommender needs, each in a fixed row order, so the same data
    gives the same model; a missing table is a clear error naming it (the marts stage has
    not run), not a KeyError deep inside training."""
    existing = {
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]
        ).fetchall()
    }
    missing = sorted(set(MART_TABLES.values()) - existing)
    if missing:
        raise LookupError(
            f"marts missing in schema {schema!r}: {', '.join(missing)}; "
            "run the marts stage first (skillpath run)"
        )
    # a table's physical row order changes from one dbt build to the next (parallel
    # writes); training depends on it (id mappings, sampling), so read in a fixed order
    frames = {
        field.name: con.execute(
            f"select * from {schema}.{MART_TABLES[field.name]} order by all"
        ).df()
        for field in fields(Marts)
    }
    return Marts(**frames)
