"""The skill taxonomy, job families and roles of the sample organisation.

The taxonomy and the family → skill links are shipped data (``resources/``, partly
derived from O*NET 29.2, see ``resources/README.md``); roles and their requirements are
derived from them by rule, so that a role's demands grow with its level the way a
career ladder does.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import pandas as pd

# Leadership enters a role's requirements as it climbs the ladder:
# (first level that needs it, importance, required level at that first level).
LEADERSHIP_LADDER = {
    "coaching-mentoring": (3, 3, 2),
    "delegation": (3, 3, 2),
    "stakeholder-management": (3, 3, 2),
    "performance-management": (4, 4, 3),
    "building-teams": (4, 4, 3),
    "hiring-interviewing": (4, 3, 3),
    "decision-making": (4, 4, 3),
    "conflict-resolution": (4, 3, 3),
    "strategic-thinking": (5, 5, 4),
    "leading-change": (5, 4, 4),
    "budget-ownership": (5, 4, 3),
    "goal-setting-okrs": (5, 4, 4),
    "inclusive-leadership": (5, 4, 3),
}
LEVEL_TITLES = {1: "Junior {t}", 2: "{t}", 3: "Senior {t}", 4: "Lead {t}"}
REQUIREMENT_COLUMNS = ["job_code", "skill_id", "required_level", "importance"]
EXECUTIVE = {
    "job_family": "executive",
    "code": "EXE",
    "department": "Executive Office",
    "title": "Chief Executive Officer",
}  # one person, to whom the department heads report


def load_resource(name: str) -> pd.DataFrame:
    text = resources.files("skillpath.sample").joinpath("resources", name).read_text("utf-8")
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Taxonomy:
    skills: pd.DataFrame  # skill_id, name, category, parent_skill_id, source
    families: pd.DataFrame  # job_family, code, department, title, head_title, headcount_share
    roles: pd.DataFrame  # job_code, title, job_family, level
    requirements: pd.DataFrame  # job_code, skill_id, required_level, importance
    learnable: np.ndarray  # indices (into skills) of leaf skills that content can teach

    @property
    def n_skills(self) -> int:
        return len(self.skills)

    def skill_index(self, skill_ids: pd.Series) -> np.ndarray:
        index = pd.Index(self.skills["skill_id"])
        return index.get_indexer(skill_ids)

    def requirement_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(required_level, importance) as dense role × skill arrays (0 = not required)."""
        shape = (len(self.roles), self.n_skills)
        required = np.zeros(shape, dtype=np.float32)
        importance = np.zeros(shape, dtype=np.float32)
        role_idx = pd.Index(self.roles["job_code"]).get_indexer(self.requirements["job_code"])
        skill_idx = self.skill_index(self.requirements["skill_id"])
        required[role_idx, skill_idx] = self.requirements["required_level"].to_numpy()
        importance[role_idx, skill_idx] = self.requirements["importance"].to_numpy()
        return required, importance


def _required_level(role_level: int, importance: np.ndarray, category: np.ndarray) -> np.ndarray:
    """Seniority raises what a role expects; compliance expects the same of everyone."""
    level = np.rint(0.5 + 0.75 * role_level + 0.25 * (importance - 3))
    level = np.where(category == "compliance", np.where(importance >= 3, 2, 1), level)
    return np.clip(level, 1, 5).astype(int)


def _roles(families: pd.DataFrame) -> pd.DataFrame:
    rows = [
        (
            f"{fam.code}{level:02d}",
            fam.head_title if level == 5 else LEVEL_TITLES[level].format(t=fam.title),
            fam.job_family,
            level,
        )
        for fam in families.itertuples(index=False)
        for level in range(1, 6)
    ]
    rows.append((f"{EXECUTIVE['code']}05", EXECUTIVE["title"], EXECUTIVE["job_family"], 5))
    return pd.DataFrame(rows, columns=["job_code", "title", "job_family", "level"])


def _requirements(roles: pd.DataFrame, links: pd.DataFrame, skills: pd.DataFrame) -> pd.DataFrame:
    category = skills.set_index("skill_id")["category"]
    parts = []
    for role in roles.itertuples(index=False):
        own = links[links["job_family"].isin([role.job_family, "*"])]
        importance = own["importance"].astype(int).to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "job_code": role.job_code,
                    "skill_id": own["skill_id"].to_numpy(),
                    "required_level": _required_level(
                        role.level, importance, category.loc[own["skill_id"]].to_numpy()
                    ),
                    "importance": importance,
                }
            )
        )
        leadership = [
            (role.job_code, skill, min(5, level + role.level - first), weight)
            for skill, (first, weight, level) in LEADERSHIP_LADDER.items()
            if role.level >= first
        ]
        parts.append(pd.DataFrame(leadership, columns=REQUIREMENT_COLUMNS))
    req = pd.concat(parts, ignore_index=True)
    # a skill linked both to the family and to everyone keeps its stronger demand
    req = req.sort_values(["job_code", "skill_id", "importance", "required_level"])
    return req.drop_duplicates(["job_code", "skill_id"], keep="last").reset_index(drop=True)


@cache
def load_taxonomy() -> Taxonomy:
    skills = load_resource("skills.csv")
    families = load_resource("job_families.csv")
    families["headcount_share"] = families["headcount_share"].astype(float)
    links = load_resource("family_skills.csv")
    unknown = set(links["skill_id"]) - set(skills["skill_id"])
    if unknown:  # a broken shipped resource is a programming error, caught by the tests
        raise ValueError(f"family_skills.csv names unknown skills: {sorted(unknown)}")
    roles = _roles(families)
    requirements = _requirements(roles, links, skills)
    parents = set(skills["parent_skill_id"]) - {""}
    learnable = np.flatnonzero(~skills["skill_id"].isin(parents).to_numpy())
    return Taxonomy(skills, families, roles, requirements, learnable)
