"""Interactions the recommender learns from, and the temporal split it is judged on.

Signal strength (one weight per person × content row of ``fct_content_engagement``):

- completed or passed: 1.0 — the person finished it; the strongest evidence of fit;
- failed (but not completed): 0.5 — they tried to the end of an assessment, so the
  content was relevant even if hard;
- progressed without finishing and not dropped early: ``0.5 * max_progress`` (0–0.5);
- dropped early: 0 — WARP has no negative labels, so early drop-off is simply not a
  positive; the row still counts as *seen* (it is never re-recommended in evaluation);
- a rating, when given, scales the weight (5 → ×1.25, 1 → ×0.5) because it is the person's
  own judgement of the item.

Opted-out persons (``dim_employee.opted_out``) contribute nothing: their rows are removed
here, before any split, so no later step can use them by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data import Marts
from ml.evidence import EvidenceRules, gaps_from_profile, profile_as_of

INTERACTION_COLUMNS = ["person_key", "content_id", "first_event_at", "weight", "is_positive"]

# Share of the active workforce above which content counts as assigned (see assigned_content).
ASSIGNED_SHARE = 0.4


def interaction_weight(engagement: pd.DataFrame) -> pd.Series:
    """The training weight of each engagement row (see the module docstring)."""
    done = engagement["is_completed"].fillna(False).astype(bool) | engagement["is_passed"].fillna(
        False
    ).astype(bool)
    failed = engagement["is_failed"].fillna(False).astype(bool)
    dropped = engagement["dropped_early"].fillna(False).astype(bool)
    progress = engagement["max_progress"].fillna(0.0).clip(0, 1).astype(float)
    weight = np.where(done, 1.0, np.where(failed, 0.5, np.where(dropped, 0.0, 0.5 * progress)))
    rating = pd.to_numeric(engagement["rating"], errors="coerce").to_numpy(dtype=float)
    scale = np.where(np.isnan(rating), 1.0, 0.5 + 0.75 * (np.clip(rating, 1, 5) - 1) / 4)
    return pd.Series(weight * scale, index=engagement.index, name="weight")


def build_interactions(marts: Marts) -> pd.DataFrame:
    """One row per (person, catalogue item) a consenting person engaged with.

    ``is_positive`` (completed or passed) is what the hold-out counts as a hit; ``weight``
    is what training uses. Rows about content missing from ``dim_content`` are dropped:
    they cannot be recommended, so they cannot be learned or evaluated as items.
    """
    eng = marts.engagement
    consenting = set(marts.employees.loc[~marts.employees["opted_out"].astype(bool), "person_key"])
    keep = eng["person_key"].isin(consenting) & eng["content_id"].isin(marts.content["content_id"])
    eng = eng[keep]
    out = pd.DataFrame(
        {
            "person_key": eng["person_key"].astype(str),
            "content_id": eng["content_id"].astype(str),
            "first_event_at": pd.to_datetime(eng["first_event_at"]),
            "weight": interaction_weight(eng).astype(np.float32),
            "is_positive": (
                eng["is_completed"].fillna(False).astype(bool)
                | eng["is_passed"].fillna(False).astype(bool)
            ),
        }
    )
    return out.sort_values(["first_event_at", "person_key", "content_id"], ignore_index=True)


def assigned_content(
    interactions: pd.DataFrame,
    employees: pd.DataFrame,
    min_share: float | None = ASSIGNED_SHARE,
    min_persons: int = 20,
) -> pd.Index:
    """content_ids the organisation assigns rather than people choose: items that at least
    ``min_share`` of the active, consenting workforce engaged with (any row, finished or
    not) in ``interactions``, and at least ``min_persons`` persons.

    Why: mandatory training (compliance campaigns, onboarding) is pushed by the LMS to
    nearly everyone; recommending it adds nothing, and leaving it in a hold-out rewards
    whoever predicts the campaign (popularity), not whoever personalises. Chosen content
    rarely reaches a large share of a whole workforce: in a catalogue of hundreds of items
    interest spreads thinly (in the sample organisation the most popular chosen item
    reaches 12 %, the campaigns 66–93 %), so a share between 30 % and 50 % separates the
    two with a wide margin. ``min_persons`` keeps a tiny organisation (where a few people
    are a large share) from calling ordinary picks mandatory; ``min_share=None`` turns the
    rule off. Every approach gets the same exclusion (ml.evaluate), the ranking should
    drop these items too, and training ignores them (ml.train).
    """
    if min_share is None or interactions.empty:
        return pd.Index([], dtype=object)
    workforce = employees.loc[
        employees["is_active"].astype(bool) & ~employees["opted_out"].astype(bool), "person_key"
    ].astype(str)
    takers = (
        interactions[interactions["person_key"].isin(workforce)]
        .groupby("content_id")["person_key"]
        .nunique()
    )
    threshold = max(min_share * len(workforce), min_persons)
    return pd.Index(sorted(takers.index[takers >= threshold]), dtype=object)


@dataclass(frozen=True)
class TemporalSplit:
    """Everything before ``cutoff`` is history; positives first seen after it are the
    hold-out. The grain (person × content, split on ``first_event_at``) makes an item a
    person saw in history impossible to appear as a hold-out positive."""

    history: pd.DataFrame
    holdout: pd.DataFrame  # positives only
    cutoff: pd.Timestamp


def temporal_split(interactions: pd.DataFrame, weeks: int) -> TemporalSplit:
    if interactions.empty:
        raise ValueError("no interactions to split")
    cutoff = interactions["first_event_at"].max() - pd.Timedelta(weeks=weeks)
    before = interactions["first_event_at"] <= cutoff
    holdout = interactions[~before & interactions["is_positive"]]
    return TemporalSplit(
        history=interactions[before].reset_index(drop=True),
        holdout=holdout.reset_index(drop=True),
        cutoff=cutoff,
    )


def as_of(marts: Marts, cutoff: pd.Timestamp, rules: EvidenceRules | None = None) -> Marts:
    """The marts as they would have looked at ``cutoff``, as far as they can be rebuilt.

    The hold-out must not see the future through features. Skill estimates, confidences
    and gaps are recomputed from the evidence known at the cutoff with the marts' own
    rules (``ml.evidence``; ``rules`` default to those the marts were built with); format affinity
    is recomputed from the engagement rows before the cutoff with the same smoothing as
    the mart's contract (a smoothed completion rate). Rows of ``fct_content_engagement``
    after the cutoff are removed. Marts without evidence rows get an empty profile.
    """
    rules = rules or EvidenceRules.of_marts(marts.skill_profile_rules)
    eng = marts.engagement[pd.to_datetime(marts.engagement["first_event_at"]) <= cutoff]
    profile = profile_as_of(marts.skill_evidence, cutoff, rules)
    return replace(
        marts,
        engagement=eng,
        skill_evidence=marts.skill_evidence[
            pd.to_datetime(marts.skill_evidence["evidence_at"]) <= cutoff
        ],
        skill_profile=profile,
        skill_gaps=gaps_from_profile(marts.skill_gaps, profile),
        person_engagement=_affinity_as_of(marts, eng),
    )


def _affinity_as_of(marts: Marts, engagement: pd.DataFrame) -> pd.DataFrame:
    """``mart_engagement`` with each ``affinity_<format>`` recomputed from ``engagement``
    (Laplace-smoothed completion rate, 0.5 without evidence)."""
    person = marts.person_engagement.copy()
    cols = [c for c in person.columns if c.startswith("affinity_")]
    merged = engagement.merge(marts.content[["content_id", "format"]], on="content_id")
    done = merged["is_completed"].fillna(False).astype(bool)
    counts = (
        merged.assign(done=done)
        .groupby(["person_key", "format"])["done"]
        .agg(["sum", "size"])
        .reset_index()
    )
    counts["affinity"] = (counts["sum"] + 1) / (counts["size"] + 2)
    wide = counts.pivot(index="person_key", columns="format", values="affinity")
    for col in cols:
        fmt = col.removeprefix("affinity_")
        values = wide[fmt] if fmt in wide.columns else pd.Series(dtype=float)
        person[col] = person["person_key"].map(values).fillna(0.5).to_numpy()
    return person


def to_matrix(
    frame: pd.DataFrame, persons: pd.Index, items: pd.Index, values: str | None = None
) -> sp.csr_matrix:
    """(persons × items) sparse matrix of ``frame``'s rows (1.0, or the ``values``
    column); rows for persons or items outside the indexes are ignored."""
    rows = persons.get_indexer(frame["person_key"])
    cols = items.get_indexer(frame["content_id"])
    ok = (rows >= 0) & (cols >= 0)
    data = frame[values].to_numpy(np.float32) if values else np.ones(len(frame), np.float32)
    mat = sp.coo_matrix((data[ok], (rows[ok], cols[ok])), shape=(len(persons), len(items)))
    return mat.tocsr()
