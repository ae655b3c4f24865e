"""Surveys and assessments, drawn month by month from the same truth as the learning.

- Pulse (monthly): engagement and eNPS move with recent learning and skill growth;
  more engaged people answer more often.
- Course feedback: some completions are rated; the rating follows level fit, content
  quality and format taste, the relevance follows what the role needs.
- Skill assessments, whose accuracy depends on who assesses: people rate themselves
  too high (by a personal margin), managers a little high, peers noisily, tests
  closely. The true level at the moment of each assessment is kept for the truth.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from scipy.special import expit

from skillpath.sample.choice import Chooser
from skillpath.sample.organisation import Organisation
from skillpath.sample.simulate import Month
from skillpath.sample.tables import seconds_text
from skillpath.sample.timeline import (
    DAY_MS,
    add_working_days,
    next_working_day,
    time_of_day_ms,
    working_day,
)

PULSE_COLUMNS = ["response_id", "employee_id", "survey_date", "engagement", "enps"]
FEEDBACK_COLUMNS = [
    "response_id",
    "employee_id",
    "content_id",
    "rating",
    "relevance",
    "submitted_at",
]
ASSESSMENT_COLUMNS = ["assessment_id", "employee_id", "skill_id", "level", "source", "assessed_at"]
FEEDBACK_SHARE = 0.3
SELF_SHARE, MANAGER_SHARE, PEER_SHARE, TEST_SHARE = 0.7, 0.6, 0.04, 0.3
# source -> (bias, noise) of the rating around the true level
SOURCES = {"self": (None, 0.5), "manager": (0.25, 0.55), "peer": (0.15, 1.0), "test": (0.0, 0.3)}
FRAME_ROWS = 100_000


def _levels(true: np.ndarray, bias, noise: float, rng) -> np.ndarray:
    return np.clip(np.rint(true + bias + rng.normal(0.0, noise, len(true))), 1, 5).astype(int)


class Surveys:
    """Produces each month's survey rows; keeps the rolling state they depend on."""

    def __init__(self, org: Organisation, chooser: Chooser, cutoff_day: np.ndarray):
        self.cfg, self.tax, self.people, self.catalog = org.config, org.tax, org.people, org.catalog
        self.chooser, self.cutoff_day = chooser, cutoff_day
        _, self.importance = org.tax.requirement_matrices()
        self.recent_growth = np.zeros((3, len(org.people)))
        self.review_month = org.config.months // 2
        self.counters = {"pulse": 0, "feedback": 0, "assessment": 0}
        self.true_levels: list[np.ndarray] = []  # per assessment, in id order

    @staticmethod
    def _format_ids(prefix: str, numbers: np.ndarray) -> np.ndarray:
        if not len(numbers):  # a month without answers (numpy's zfill fails on nothing)
            return np.empty(0, dtype=str)
        return np.char.add(prefix, np.char.zfill(numbers.astype(str), 8))

    def _ids(self, kind: str, prefix: str, n: int) -> np.ndarray:
        start = self.counters[kind]
        self.counters[kind] += n
        return self._format_ids(prefix, np.arange(start + 1, start + n + 1))

    def pulse(self, mo: Month, rng) -> pd.DataFrame:
        p = self.people
        self.recent_growth = np.roll(self.recent_growth, 1, axis=0)
        self.recent_growth[0] = mo.growth
        day = int(next_working_day(np.int64(mo.first_day + 14)))
        if day >= mo.end_day:
            return pd.DataFrame(columns=PULSE_COLUMNS)
        eligible = (mo.lo <= day) & (day < mo.hi)
        latent = (
            p.engagement
            + 0.3 * np.tanh(mo.completions / 2.0)
            + 0.9 * self.recent_growth.sum(axis=0)
            + rng.normal(0.0, 0.45, len(p))
        )
        answers = eligible & (rng.random(len(p)) < expit(-0.2 + 0.8 * (latent - 3.5)))
        who = np.flatnonzero(answers)
        enps = np.rint(1.9 * latent[who] - 0.9 + rng.normal(0.0, 1.3, len(who)))
        return pd.DataFrame(
            {
                "response_id": self._ids("pulse", "PUL-", len(who)),
                "employee_id": p.employee_id[who],
                "survey_date": str(np.datetime64(int(day), "D")),
                "engagement": np.clip(np.rint(latent[who]), 1, 5).astype(int),
                "enps": np.clip(enps, 0, 10).astype(int),
            }
        )

    def feedback(self, mo: Month, rng) -> pd.DataFrame:
        p, c, a = self.people, self.catalog, mo.attempts
        rows = np.flatnonzero(a.completed & (rng.random(len(a)) < FEEDBACK_SHARE))
        person, content = a.person[rows], a.content[rows]
        at = mo.completion_ms[rows] + rng.lognormal(np.log(20 * 60_000), 1.2, len(rows)).astype(
            np.int64
        )
        fit = np.clip(1.0 - np.abs(mo.gap[rows] - 1.0), -2.0, 1.0)
        rating = (
            3.3
            + 0.5 * fit
            + 0.5 * c.quality[content]
            + 0.3 * p.format_pref[person, c.format[content]]
            + rng.normal(0.0, 0.7, len(rows))
        )
        relevance = 1 + 4 * self.chooser.relevance(p.role[person], content)
        relevance = relevance + rng.normal(0.0, 0.6, len(rows))
        keep = at < self.cutoff_day[person] * DAY_MS
        frame = pd.DataFrame(
            {
                "employee_id": p.employee_id[person],
                "content_id": c.content_id[content],
                "rating": np.clip(np.rint(rating), 1, 5).astype(int),
                "relevance": np.clip(np.rint(relevance), 1, 5).astype(int),
                "submitted_at": seconds_text(at.astype("datetime64[ms]")),
            }
        )[keep]
        frame.insert(0, "response_id", self._ids("feedback", "FBK-", len(frame)))
        return frame

    def _role_skills(self, person: np.ndarray, min_importance: int):
        imp = self.importance[self.people.role[person]]
        who, skill = np.nonzero(imp >= min_importance)
        return person[who], skill

    def assessments(self, mo: Month, rng) -> Iterator[pd.DataFrame]:
        """This month's assessments, as frames of bounded size (a yearly self-assessment
        campaign of a large organisation runs into millions of rows)."""
        p, a = self.people, mo.attempts
        active = np.flatnonzero(mo.active)
        hired = p.hire_date.astype(np.int64)
        settled = active[(mo.first_day - hired[active]) >= 30]
        parts = []  # (person, skill, source, epoch ms, true level or None)

        def at_work(person):
            day = working_day(mo.lo[person], mo.hi[person], rng.random(len(person)))
            return day * DAY_MS + time_of_day_ms(p.preferred_hour[person], rng)

        if mo.index == self.review_month:
            person, skill = self._role_skills(settled[rng.random(len(settled)) < SELF_SHARE], 3)
            parts.append((person, skill, "self", at_work(person), None))
        if mo.index == min(self.review_month + 1, self.cfg.months - 1):
            person, skill = self._role_skills(settled[rng.random(len(settled)) < MANAGER_SHARE], 4)
            parts.append((person, skill, "manager", at_work(person), None))
        reviewed = settled[rng.random(len(settled)) < PEER_SHARE]
        person, skill = self._role_skills(np.repeat(reviewed, 2), 2)
        pick = rng.random(len(person)) < 0.25
        parts.append((person[pick], skill[pick], "peer", at_work(person[pick]), None))
        # placement tests in a newcomer's first week
        person, skill = self._role_skills(active[hired[active] >= mo.first_day], 4)
        week = add_working_days(mo.lo[person], rng.integers(1, 5, len(person)))
        at = week * DAY_MS + time_of_day_ms(np.full(len(person), 10.0), rng)
        parts.append((person, skill, "test", at, None))
        # tests taken right after finishing assessed content, on its main skill
        rows = np.flatnonzero(a.completed & a.assessed & (rng.random(len(a)) < TEST_SHARE))
        parts.append(
            (
                a.person[rows],
                self.catalog.taught_skill[a.content[rows], 0],
                "test",
                mo.completion_ms[rows] + 3_600_000,
                mo.primary_after[rows],
            )
        )

        for person, skill, source, at, true in parts:
            keep = at < mo.hi[person] * DAY_MS
            person, skill, at = person[keep], skill[keep], at[keep]
            true = mo.skills[person, skill] if true is None else true[keep]
            bias, noise = SOURCES[source]
            bias = p.self_bias[person] if bias is None else bias
            level = _levels(true, bias, noise, rng)
            self.true_levels.append(true.astype(np.float32))
            for start in range(0, len(person), FRAME_ROWS):
                part = slice(start, start + FRAME_ROWS)
                yield self._assessment_frame(
                    person[part], skill[part], level[part], source, at[part]
                )

    def _assessment_frame(self, person, skill, level, source, at) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "assessment_id": self._ids("assessment", "ASM-", len(person)),
                "employee_id": self.people.employee_id[person],
                "skill_id": self.tax.skills["skill_id"].to_numpy()[skill],
                "level": level,
                "source": source,
                "assessed_at": seconds_text(at.astype("datetime64[ms]")),
            }
        )

    def assessment_truth(self) -> tuple[np.ndarray, np.ndarray]:
        """(assessment_id, true level at the time) of every assessment so far."""
        n = self.counters["assessment"]
        levels = np.concatenate(self.true_levels) if self.true_levels else np.empty(0)
        return self._format_ids("ASM-", np.arange(1, n + 1)), levels
