"""Skill profiles and gaps rebuilt from the evidence known at a date.

Why: ``mart_skill_profile`` judges all evidence at the data's "now". The hold-out needs
the profile as it was at its cutoff, and dropping the profile rows touched after the
cutoff is not that: a skill with old evidence and one new completion would lose the old
evidence too and read as "no evidence, level 0" — and the new completions are the very
hold-out positives, so gap matching would be told what a person learns next.

So the profile is recomputed here from ``marts.fct_skill_evidence`` (every piece of
evidence, unweighted) with the rules of ``int_skill__evidence`` and
``mart_skill_profile``, judged at the cutoff:

- evidence after the cutoff does not exist yet;
- learning counts only at the highest level learned *up to the cutoff*;
- weight = reliability × 0.5^(age in days / ``evidence_half_life_days``), the age counted
  in calendar days to the cutoff's date (the marts' "now" is a date);
- estimated level = weighted mean level (0–5); confidence = total weight / (total weight
  + ``confidence_prior_weight``).

The rule's home is dbt (docs/architecture.md, "The skill-profile rule"): this is its
application at another date. The two constants are the dbt vars the marts were built
with, read from ``marts.mart_skill_profile_rules`` (not copied), and
tests/test_ml_evidence.py checks that at the marts' own date this reproduces
``mart_skill_profile``, so the SQL and the Python cannot drift apart unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EVIDENCE_COLUMNS = (
    "person_key",
    "skill_id",
    "evidence_kind",
    "evidence_source",
    "evidence_at",
    "reported_level",
    "level",
    "reliability",
)
PROFILE_KEYS = ["person_key", "skill_id"]


def empty_evidence() -> pd.DataFrame:
    """A ``fct_skill_evidence`` without rows (marts built without the evidence mart)."""
    return pd.DataFrame({column: pd.Series(dtype=object) for column in EVIDENCE_COLUMNS})


@dataclass(frozen=True)
class EvidenceRules:
    """The dbt vars behind the profile's weights, as the marts were built with them."""

    half_life_days: float
    confidence_prior_weight: float

    @classmethod
    def of_marts(cls, rules: pd.DataFrame) -> EvidenceRules:
        """The parameters the marts were built with (``mart_skill_profile_rules``: one
        row of the dbt vars), so a build with other ``--vars`` is judged by its own."""
        if len(rules) != 1:
            raise LookupError(
                "the marts carry no mart_skill_profile_rules row: build them with dbt "
                "(skillpath run) or pass EvidenceRules explicitly"
            )
        row = rules.iloc[0]
        return cls(
            half_life_days=float(row["evidence_half_life_days"]),
            confidence_prior_weight=float(row["confidence_prior_weight"]),
        )


def counted_evidence(
    evidence: pd.DataFrame, cutoff: pd.Timestamp | pd.Series, rules: EvidenceRules
) -> pd.DataFrame:
    """The evidence known at ``cutoff`` that counts, with its ``weight`` judged at the
    cutoff's date (``int_skill__evidence`` at another date). ``cutoff`` is one date or
    one per evidence row (same index: each person's own cutoff)."""
    at = pd.to_datetime(evidence["evidence_at"])
    cut = cutoff if isinstance(cutoff, pd.Series) else pd.Series(cutoff, index=evidence.index)
    cut = pd.to_datetime(cut)
    keep = (at <= cut).to_numpy()
    known = evidence[keep].assign(evidence_at=at[keep].to_numpy(), _cutoff=cut[keep].to_numpy())
    learning = known["evidence_kind"].eq("learning")
    highest = (
        known["level"]
        .where(learning)
        .groupby([known["person_key"], known["skill_id"]])
        .transform("max")
    )
    counted = known[~learning | known["level"].eq(highest)]
    age = (counted["_cutoff"].dt.normalize() - counted["evidence_at"].dt.normalize()).dt.days
    age = age.clip(lower=0)
    weight = counted["reliability"].astype(float) * np.power(
        0.5, age.astype(float) / rules.half_life_days
    )
    return counted.drop(columns="_cutoff").assign(weight=weight)


def profile_as_of(
    evidence: pd.DataFrame, cutoff: pd.Timestamp | pd.Series, rules: EvidenceRules
) -> pd.DataFrame:
    """``mart_skill_profile`` as it would have been built at ``cutoff`` (one date, or one
    per evidence row: ``counted_evidence``)."""
    counted = counted_evidence(evidence, cutoff, rules)
    counted = counted.assign(weighted_level=counted["weight"] * counted["level"].astype(float))
    grouped = counted.groupby(PROFILE_KEYS, as_index=False).agg(
        weighted_level=("weighted_level", "sum"),
        evidence_weight=("weight", "sum"),
        evidence_count=("weight", "size"),
        last_evidence_at=("evidence_at", "max"),
    )
    total = grouped["evidence_weight"]
    return pd.DataFrame(
        {
            "person_key": grouped["person_key"],
            "skill_id": grouped["skill_id"],
            "estimated_level": (grouped["weighted_level"] / total).clip(0, 5),
            "confidence": total / (total + rules.confidence_prior_weight),
            "evidence_count": grouped["evidence_count"],
            "evidence_weight": total,
            "last_evidence_at": grouped["last_evidence_at"],
        }
    )


def gap_weight_per_unit(gaps: pd.DataFrame) -> float:
    """``weighted_gap`` per unit of gap × importance in ``mart_skill_gaps`` (its scale is the
    mart's business), so gaps recomputed here weigh like the mart's."""
    has_gap = gaps["gap"] > 0
    if not has_gap.any():
        return 1.0
    g = gaps[has_gap]
    return float((g["weighted_gap"] / (g["gap"] * g["importance"])).median())


def gaps_from_profile(gaps: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """``mart_skill_gaps`` (its rows: who needs what) with the estimates of ``profile``;
    no evidence is level 0 at confidence 0, as in the mart."""
    found = gaps[PROFILE_KEYS].merge(
        profile[[*PROFILE_KEYS, "estimated_level", "confidence"]], on=PROFILE_KEYS, how="left"
    )
    estimate = found["estimated_level"].fillna(0.0).to_numpy(float)
    required = gaps["required_level"].to_numpy(float)
    gap = np.maximum(required - estimate, 0.0)
    out = gaps.assign(
        estimated_level=estimate,
        confidence=found["confidence"].fillna(0.0).to_numpy(float),
        gap=gap,
        weighted_gap=gap * gaps["importance"].to_numpy(float) * gap_weight_per_unit(gaps),
    )
    if "is_met" in out.columns:
        out["is_met"] = estimate >= required
    return out
