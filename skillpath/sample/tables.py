"""The organisation as the HRIS, the skills team and the LMS export it: one DataFrame
per landing file of docs/data-contract.md, columns in contract order, values as text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from skillpath.sample.catalog import Catalog
from skillpath.sample.model import FORMATS
from skillpath.sample.people import LOCATIONS, People
from skillpath.sample.taxonomy import Taxonomy


def flag(values: np.ndarray) -> np.ndarray:
    return np.where(np.asarray(values, dtype=bool), "true", "false")


def day_text(days: np.ndarray) -> np.ndarray:
    """ISO dates; NaT becomes an empty field."""
    text = np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"))
    return np.where(np.isnat(days), "", text)


def seconds_text(moments: np.ndarray) -> np.ndarray:
    """ISO timestamps in UTC, second precision."""
    return np.char.add(np.datetime_as_string(moments.astype("datetime64[s]")), "Z")


def employees(p: People, tax: Taxonomy) -> pd.DataFrame:
    manager = np.where(p.manager >= 0, p.employee_id[np.maximum(p.manager, 0)], "")
    return pd.DataFrame(
        {
            "employee_id": p.employee_id,
            "email": p.email,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "department": p.department,
            "job_code": tax.roles["job_code"].to_numpy()[p.role],
            "manager_id": manager,
            "location": np.asarray(LOCATIONS)[p.location],
            "hire_date": day_text(p.hire_date),
            "employment_type": np.where(p.part_time, "part_time", "full_time"),
            "status": np.where(np.isnat(p.leave_date), "active", "leaver"),
            "leave_date": day_text(p.leave_date),
        }
    )


def sensitive_attributes(p: People) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id": p.employee_id,
            "gender": p.gender,
            "birth_year": p.birth_year,
            "disability": p.disability,
        }
    )


def consent(p: People) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "employee_id": p.employee_id,
            "opted_out": flag(p.opted_out),
            "changed_at": seconds_text(p.consent_changed_at),
        }
    )


def roles(tax: Taxonomy) -> pd.DataFrame:
    return tax.roles[["job_code", "title", "job_family", "level"]]


def role_skill_requirements(tax: Taxonomy) -> pd.DataFrame:
    return tax.requirements[["job_code", "skill_id", "required_level", "importance"]]


def skills(tax: Taxonomy) -> pd.DataFrame:
    return tax.skills[["skill_id", "name", "category", "parent_skill_id"]]


def catalog(c: Catalog, months: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "content_id": c.content_id,
            "title": c.title,
            "format": np.asarray(FORMATS)[c.format],
            "duration_minutes": c.duration,
            "level": c.level,
            "language": c.language,
            "provider": c.provider,
            "active": flag(c.active(months)),
            # the compliance campaigns, also assigned to every newcomer
            "mandatory": flag(c.mandatory),
        }
    )


def content_skills(c: Catalog, tax: Taxonomy) -> pd.DataFrame:
    valid = c.taught_skill >= 0
    rows = np.repeat(np.arange(len(c)), valid.sum(axis=1))
    return pd.DataFrame(
        {
            "content_id": c.content_id[rows],
            "skill_id": tax.skills["skill_id"].to_numpy()[c.taught_skill[valid]],
            "level_taught": c.taught_level[valid],
        }
    )


def prerequisites(c: Catalog) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "content_id": c.content_id[c.prereq_content],
            "requires_content_id": c.content_id[c.prereq_requires],
        }
    )
