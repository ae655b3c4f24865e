"""Why each item is on a person's list, as machine-readable reasons and one sentence.

Reasons are built only from the evidence the ranking used (``Evidence``), never
re-derived, so they cannot drift from the decision: a ``closes_gap`` reason exists only
for a skill with a positive gap (``mart_skill_gaps`` measured from the expected level of
``ml.skill_prior``). They mention nothing beyond the person's own context (their role,
their levels, their habits) and aggregates over at least ``colleague_min_group``
colleagues (and the skill prior's groups of at least ``MIN_PEERS``).

Reason types (``type`` field of each JSON object):

- ``closes_gap``: skill_id, skill, from_level (expected level, truncated to one decimal),
  to_level (taught), job_code, role
- ``next_level``: skill_id, skill, level — taught exactly one level above the expected
  level; it follows the ``closes_gap`` of the same skill_id (one ``SkillStep`` makes both)
- ``similar_colleagues_completed``: share, colleagues, job_code (personalised only)
- ``preferred_format``: format, completion_rate (personalised only)
- ``prerequisite_met``: prerequisites [{content_id, met_by: completed | skill_covered}]
- ``model_match``: the model's score, from learners with a similar profile (personalised only)
- ``role_path``: job_code, role, basis (``role_skill_gap`` | ``organisation_popular``) for
  non-personalised items
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

REASON_TYPES = (
    "closes_gap",
    "next_level",
    "similar_colleagues_completed",
    "preferred_format",
    "prerequisite_met",
    "model_match",
    "role_path",
)


@dataclass(frozen=True)
class Evidence:
    """Per recommended row (position ``pair``), what the ranking knew.

    ``gaps`` has one row per (pair, taught skill with gap > 0): pair, skill_id,
    skill_name, from_level, to_level, gap, weighted_gap, next_level, job_code, role.
    ``prerequisites`` has one row per (pair, prerequisite): pair, content_id, how, met.
    Arrays are aligned with the rows; NaN / None where a reason does not apply.
    """

    personalised: np.ndarray
    job_code: np.ndarray
    role: np.ndarray
    gaps: pd.DataFrame
    prerequisites: pd.DataFrame
    format: np.ndarray
    format_completion: np.ndarray
    colleague_share: np.ndarray
    colleagues: np.ndarray


def _by_pair(frame: pd.DataFrame, sort_by: list[str], ascending: list[bool]) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for record in frame.sort_values(sort_by, ascending=ascending, kind="stable").to_dict("records"):
        grouped.setdefault(int(record["pair"]), []).append(record)
    return grouped


@dataclass(frozen=True)
class SkillStep:
    """One taught skill the person lacks for their role: the single record its
    ``closes_gap`` and ``next_level`` reasons and its words in the sentence come from,
    so that the sentence cannot name one skill with another's levels."""

    skill_id: str
    skill: str
    from_level: float
    to_level: int
    next_level: bool
    job_code: str
    role: str

    @classmethod
    def from_gap(cls, gap: dict) -> SkillStep:
        return cls(
            skill_id=gap["skill_id"],
            skill=gap["skill_name"],
            # truncated, not rounded: an expected 2.96 below a level 3 reads 2.9, never 3
            from_level=math.floor(round(float(gap["from_level"]) * 10, 6)) / 10,
            to_level=int(gap["to_level"]),
            next_level=bool(gap["next_level"]),
            job_code=gap["job_code"],
            role=gap["role"],
        )

    def reasons(self) -> list[dict]:
        closes = {
            "type": "closes_gap",
            "skill_id": self.skill_id,
            "skill": self.skill,
            "from_level": self.from_level,
            "to_level": self.to_level,
            "job_code": self.job_code,
            "role": self.role,
        }
        if not self.next_level:
            return [closes]
        level = self.to_level
        return [
            closes,
            {"type": "next_level", "skill_id": self.skill_id, "skill": self.skill, "level": level},
        ]

    @classmethod
    def from_reasons(cls, reasons: list[dict]) -> list[SkillStep]:
        """The records back from the JSON (a ``next_level`` belongs to the ``closes_gap``
        of its own skill_id), in their order."""
        next_levels = {r["skill_id"] for r in reasons if r["type"] == "next_level"}
        return [
            cls(
                skill_id=r["skill_id"],
                skill=r["skill"],
                from_level=r["from_level"],
                to_level=r["to_level"],
                next_level=r["skill_id"] in next_levels,
                job_code=r["job_code"],
                role=r["role"],
            )
            for r in reasons
            if r["type"] == "closes_gap"
        ]

    def clause(self) -> str:
        step = " (your next level)" if self.next_level else ""
        return (
            f"builds {self.skill} from level {self.from_level:g} to {self.to_level}{step},"
            f" required for your role {self.role or self.job_code}"
        )


def _row_reasons(ev: Evidence, row: int, gaps: list[dict], prereqs: list[dict]) -> list[dict]:
    reasons: list[dict] = []
    if not ev.personalised[row]:
        basis = "role_skill_gap" if gaps else "organisation_popular"
        reasons.append(
            {
                "type": "role_path",
                "job_code": ev.job_code[row],
                "role": ev.role[row],
                "basis": basis,
            }
        )
    for gap in gaps:
        reasons.extend(SkillStep.from_gap(gap).reasons())
    if not np.isnan(ev.colleague_share[row]):
        reasons.append(
            {
                "type": "similar_colleagues_completed",
                "share": round(float(ev.colleague_share[row]), 2),
                "colleagues": int(ev.colleagues[row]),
                "job_code": ev.job_code[row],
            }
        )
    if ev.format[row] is not None:
        reasons.append(
            {
                "type": "preferred_format",
                "format": ev.format[row],
                "completion_rate": round(float(ev.format_completion[row]), 2),
            }
        )
    if prereqs:
        reasons.append(
            {
                "type": "prerequisite_met",
                "prerequisites": [
                    {"content_id": p["content_id"], "met_by": p["how"]} for p in prereqs
                ],
            }
        )
    if ev.personalised[row]:
        reasons.append({"type": "model_match"})
    return reasons


# formats as a person says them: "an article", "an interactive exercise"
FORMAT_PHRASES = {
    "video": "a video",
    "article": "an article",
    "course": "a course",
    "workshop": "a workshop",
    "podcast": "a podcast",
    "microlearning": "a microlearning unit",
    "interactive": "an interactive exercise",
}


def format_phrase(fmt: str) -> str:
    """The format with its article; a format the catalogue adds later gets "a" or "an"
    by its first letter."""
    return FORMAT_PHRASES.get(fmt) or f"{'an' if fmt[:1].lower() in 'aeiou' else 'a'} {fmt}"


def sentence(reasons: list[dict]) -> str:
    """A short sentence for people, made from the reasons' own records (the JSON stays the
    source of truth): the most important skill step, else the role path; then colleagues,
    format and prerequisites; the model alone when nothing else applies."""
    by_type: dict[str, dict] = {}
    for reason in reasons:
        by_type.setdefault(reason["type"], reason)
    parts: list[str] = []
    steps = SkillStep.from_reasons(reasons)
    if steps:
        parts.append(steps[0].clause())
    role = by_type.get("role_path")
    if role and not steps:
        parts.append(f"part of the learning path for your role {role['role'] or role['job_code']}")
    colleagues = by_type.get("similar_colleagues_completed")
    if colleagues:
        parts.append(f"{round(colleagues['share'] * 100)}% of colleagues in your role completed it")
    fmt = by_type.get("preferred_format")
    if fmt:
        parts.append(f"{format_phrase(fmt['format'])}, a format you usually finish")
    if "prerequisite_met" in by_type:
        parts.append("you have what it builds on")
    if not parts and "model_match" in by_type:
        parts.append("learners with a profile like yours completed it")
    text = "; ".join(parts) or "recommended for you"
    return text[0].upper() + text[1:] + "."


def explain(ev: Evidence) -> tuple[list[str], list[str]]:
    """(reasons as JSON, sentence) per row."""
    gaps = _by_pair(ev.gaps, ["pair", "weighted_gap", "skill_id"], [True, False, True])
    met = ev.prerequisites[ev.prerequisites["met"]] if len(ev.prerequisites) else ev.prerequisites
    prereqs = _by_pair(met, ["pair", "content_id"], [True, True]) if len(met) else {}
    as_json, text = [], []
    for row in range(len(ev.personalised)):
        reasons = _row_reasons(ev, row, gaps.get(row, []), prereqs.get(row, []))
        as_json.append(json.dumps(reasons, separators=(",", ":"), ensure_ascii=False))
        text.append(sentence(reasons))
    return as_json, text
