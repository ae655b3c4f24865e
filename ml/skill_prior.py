"""Expected skill levels: a person's own evidence where it is strong, their peers' where
it is thin.

``mart_skill_profile`` estimates a level from a person's own evidence only, and
``mart_skill_gaps`` reads no evidence as level 0 with confidence 0 — right for a mart
(nothing is demonstrated), wrong as a belief: an experienced engineer with no assessment on
file does not hold SQL at 0. Read literally, such gaps look like the role's whole
requirement, and gap matching and the ranking's mastery and level rules send people back to
introductions they are far beyond.

The belief used instead is a shrinkage estimate:

    expected = confidence · estimate + (1 − confidence) · prior

where the prior is what the person's peers are estimated to hold: the confidence-weighted
mean estimate of the skill among active, consenting persons of the same ``job_code``, shrunk
towards the same figure for the ``job_family``, which is shrunk towards the whole
organisation's, each with the weight of ``PRIOR_WEIGHT`` fully confident persons. A group
contributes only when at least ``MIN_PEERS`` of its persons have evidence on the skill, for
the same reason the ranking's colleague reason has a minimum group: a prior drawn from one
or two colleagues would both be noise and reveal their levels through the reasons. Where no
group qualifies there is no prior, and the expected level is the mart's own estimate (0
without evidence) — a made-up prior would only drag real evidence down. So a person
without evidence is expected at what people in their role usually hold, and a person with
strong evidence keeps their own estimate. Persons who opted out feed no one's prior (as in
every aggregate that shapes other people's lists) but get one themselves, as do new hires.

The prior stands in for missing evidence only on the skills the person's role requires
(their ``mart_skill_gaps`` rows). The peers it is drawn from are those with evidence on
the skill; on a skill the role requires that is most of the role, but elsewhere it is the
few who practise the skill, and a person with no trace of it most likely does not: on
every sample regime with a taxonomy (1,000 employees) the prior of such pairs averaged
2.21–2.45 levels against a true 0.11, and 95 % of them held no level at all. Without
evidence on a skill outside their role a person is expected at 0, as the mart reads it
(ml/README.md, "Expected skill levels").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data import Marts
from ml.evidence import gap_weight_per_unit
from ml.metrics import CHUNK

PRIOR_WEIGHT = 1.0  # pseudo-evidence of the parent group, in fully confident persons
MIN_PEERS = 5  # persons with evidence a group needs before its figure is used
PEER_GROUPS = ("job_family", "job_code")  # coarse to fine, below the whole organisation


@dataclass(frozen=True)
class SkillLevels:
    """Dense (persons × skills) arrays; persons in ``marts.employees`` order."""

    person_keys: pd.Index
    skill_ids: pd.Index
    estimate: np.ndarray  # the mart's estimate, 0 without evidence
    confidence: np.ndarray  # the mart's confidence, 0 without evidence
    prior: np.ndarray  # what peers hold (module docstring); NaN: no group qualifies

    @property
    def expected(self) -> np.ndarray:
        return _expected(self.estimate, self.confidence, self.prior)

    def lookup(self, person_keys: pd.Series, skill_ids: pd.Series) -> np.ndarray:
        """Expected level of each (person, skill) pair; 0 for persons or skills unknown here."""
        p = self.person_keys.get_indexer(person_keys.astype(str))
        s = self.skill_ids.get_indexer(skill_ids.astype(str))
        ok = (p >= 0) & (s >= 0)
        out = np.zeros(len(p), dtype=np.float64)
        # ``expected`` of the pairs only: the whole (persons × skills) matrix and its
        # temporaries are gigabytes at 100,000 persons
        at = (p[ok], s[ok])
        out[ok] = _expected(self.estimate[at], self.confidence[at], self.prior[at])
        return out


def _expected(estimate: np.ndarray, confidence: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Confidence-weighted mix of own estimate and peers' prior (the estimate alone where
    no prior qualifies), element by element."""
    prior = np.where(np.isnan(prior), estimate, prior)
    return confidence * estimate + (1.0 - confidence) * prior


def _group_matrix(codes: pd.Series) -> tuple[sp.csr_matrix, np.ndarray]:
    """(groups × persons) indicator and each person's group row (-1: no group)."""
    row, uniques = pd.factorize(codes, use_na_sentinel=True)
    ok = row >= 0
    matrix = sp.csr_matrix(
        (np.ones(ok.sum()), (row[ok], np.flatnonzero(ok))), shape=(len(uniques), len(codes))
    )
    return matrix, row


def _shrink(
    total: np.ndarray, weight: np.ndarray, persons: np.ndarray, parent: np.ndarray
) -> np.ndarray:
    """Group mean shrunk towards ``parent`` (NaN: none, the plain mean); the parent alone
    below ``MIN_PEERS``."""
    with np.errstate(all="ignore"):
        mean = np.where(
            np.isnan(parent),
            total / weight,
            (total + PRIOR_WEIGHT * np.nan_to_num(parent)) / (weight + PRIOR_WEIGHT),
        )
    return np.where(persons >= MIN_PEERS, mean, parent)


def skill_levels(marts: Marts) -> SkillLevels:
    """Estimates, confidences and peer priors of every person for every known skill."""
    emp = marts.employees
    persons = pd.Index(emp["person_key"].astype(str), dtype=object)
    prof = marts.skill_profile
    skills = pd.Index(
        pd.unique(
            pd.concat(
                [
                    marts.skills["skill_id"],
                    prof["skill_id"],
                    marts.skill_gaps["skill_id"],
                    marts.content_skills["skill_id"],
                ]
            ).astype(str)
        ),
        dtype=object,
    )
    estimate = np.zeros((len(persons), len(skills)))
    confidence = np.zeros_like(estimate)
    p = persons.get_indexer(prof["person_key"].astype(str))
    s = skills.get_indexer(prof["skill_id"].astype(str))
    ok = p >= 0
    estimate[p[ok], s[ok]] = prof["estimated_level"].to_numpy(float, na_value=0.0)[ok].clip(0, 5)
    confidence[p[ok], s[ok]] = prof["confidence"].to_numpy(float, na_value=0.0)[ok].clip(0, 1)

    peer = (
        emp["is_active"].astype("boolean").fillna(False).to_numpy(bool)
        & ~emp["opted_out"].astype("boolean").fillna(False).to_numpy(bool)
    )[:, None]
    weight = confidence * peer
    total = weight * estimate
    has = (weight > 0).astype(np.float64)

    prior = np.broadcast_to(
        _shrink(total.sum(0), weight.sum(0), has.sum(0), np.full(len(skills), np.nan)),
        estimate.shape,
    ).copy()
    for column in (c for c in PEER_GROUPS if c in emp.columns):
        groups, row = _group_matrix(emp[column].astype("string"))
        sums = groups @ total, groups @ weight, groups @ has  # (groups × skills)
        # members CHUNK rows at a time: each person's row is their group's, and a
        # (persons × skills) temporary per argument took gigabytes at 100,000 persons
        members = np.flatnonzero(row >= 0)
        for start in range(0, len(members), CHUNK):
            r = members[start : start + CHUNK]
            prior[r] = _shrink(*(m[row[r]] for m in sums), prior[r])
    prior[(confidence == 0) & ~_required(marts.skill_gaps, persons, skills)] = np.nan
    return SkillLevels(persons, skills, estimate, confidence, prior)


def _required(gaps: pd.DataFrame, persons: pd.Index, skills: pd.Index) -> np.ndarray:
    """(persons × skills): the skill is one the person's role requires (a row of
    ``mart_skill_gaps``)."""
    required = np.zeros((len(persons), len(skills)), dtype=bool)
    p = persons.get_indexer(gaps["person_key"].astype(str))
    s = skills.get_indexer(gaps["skill_id"].astype(str))
    ok = (p >= 0) & (s >= 0)
    required[p[ok], s[ok]] = True
    return required


def expected_gaps(marts: Marts, levels: SkillLevels | None = None) -> pd.DataFrame:
    """``mart_skill_gaps`` plus ``expected_level``, with ``gap`` and ``weighted_gap``
    measured from the expected level instead of the evidence-only estimate."""
    gaps = marts.skill_gaps
    levels = levels if levels is not None else skill_levels(marts)
    expected = levels.lookup(gaps["person_key"], gaps["skill_id"])
    gap = np.maximum(gaps["required_level"].to_numpy(float) - expected, 0.0)
    unit = gap_weight_per_unit(gaps)
    return gaps.assign(
        expected_level=expected,
        gap=gap,
        weighted_gap=gap * gaps["importance"].to_numpy(float) * unit,
    )
