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

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ml.data import Marts
from ml.evidence import EvidenceRules, gaps_from_profile, profile_as_of

INTERACTION_COLUMNS = ["person_key", "content_id", "first_event_at", "weight", "is_positive"]


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


def mandatory_content(content: pd.DataFrame) -> pd.Index:
    """content_ids the organisation assigns (``dim_content.is_mandatory``: compliance,
    onboarding), sorted; empty when the catalogue does not say (the column is optional).

    Why from data and never from popularity: an assignment is a fact the LMS knows, and
    popular chosen content looks exactly like a campaign to a share threshold (on real
    data the most-taken items are chosen, and a threshold took them out of the lists and
    of the evaluation alike). Mandatory items are no candidate for any approach and no
    hold-out positive (nobody chose them), and training ignores them.
    """
    if "is_mandatory" not in content.columns:
        return pd.Index([], dtype=object)
    flag = content["is_mandatory"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return pd.Index(sorted(content.loc[flag, "content_id"].astype(str)), dtype=object)


@dataclass(frozen=True)
class Cutoffs:
    """Where each person's known past ends: ``default`` for everyone, except persons in
    ``per_person`` (person_key → their own cutoff). Rows at or before a person's cutoff
    are known; later rows are the future."""

    default: pd.Timestamp
    per_person: pd.Series = field(default_factory=lambda: pd.Series(dtype="datetime64[ns]"))

    def of(self, person_keys: pd.Series) -> pd.Series:
        """The cutoff of each row's person (same index as ``person_keys``)."""
        if self.per_person.empty:
            return pd.Series(self.default, index=person_keys.index)
        own = person_keys.astype(str).map(self.per_person)
        return pd.to_datetime(own).fillna(self.default)

    def known(self, frame: pd.DataFrame, time_column: str) -> pd.Series:
        at = pd.to_datetime(frame[time_column])
        if self.per_person.empty:
            return at <= self.default
        return at <= self.of(frame["person_key"])


@dataclass(frozen=True)
class TemporalSplit:
    """History and hold-out of one evaluation protocol (``temporal_split``,
    ``per_person_split``). The grain (person × content, split on ``first_event_at``)
    makes an item a person saw in their history impossible as their hold-out positive."""

    history: pd.DataFrame
    holdout: pd.DataFrame  # positives only
    cutoffs: Cutoffs
    # persons with positives but too few to hold some back (per-person protocol)
    persons_too_few_positives: int = 0

    @property
    def cutoff(self) -> pd.Timestamp:
        """The time cut (for the per-person protocol: the cut of persons without one)."""
        return self.cutoffs.default


def temporal_split(interactions: pd.DataFrame, weeks: int) -> TemporalSplit:
    """Global time cut: everything before the latest ``weeks`` is history; positives
    first seen after it are the hold-out."""
    if interactions.empty:
        raise ValueError("no interactions to split")
    cutoff = interactions["first_event_at"].max() - pd.Timedelta(weeks=weeks)
    before = interactions["first_event_at"] <= cutoff
    holdout = interactions[~before & interactions["is_positive"]]
    return TemporalSplit(
        history=interactions[before].reset_index(drop=True),
        holdout=holdout.reset_index(drop=True),
        cutoffs=Cutoffs(cutoff),
    )


def per_person_split(
    interactions: pd.DataFrame, share: float = 0.2, min_positives: int = 5
) -> TemporalSplit:
    """Each person's latest ``share`` of positives (at least one, rounded half up) is
    their hold-out; their cutoff is just before the first of them, so their history is
    everything they started before it — later rows of theirs that are not positives
    (dropped, in progress) are in neither part. Persons with fewer than
    ``min_positives`` positives are not evaluated (counted): their whole history trains.

    Why beside the time cut: a window of the latest weeks can be empty or hold only
    the persons active in it; every person with a history has a latest share. Other
    persons' rows after a person's cutoff stay in training (item popularity and
    embeddings see them), as in every leave-latest-out protocol; that optimism is the
    same for every approach.
    """
    if interactions.empty:
        raise ValueError("no interactions to split")
    positives = interactions[interactions["is_positive"]].sort_values(
        ["person_key", "first_event_at", "content_id"]
    )
    count = positives.groupby("person_key")["content_id"].transform("size")
    held = np.maximum(1, np.floor(count * share + 0.5)).astype(int)
    from_end = positives.groupby("person_key").cumcount(ascending=False)
    first_held = positives[(count >= min_positives) & (from_end == held - 1)]
    per_person = pd.Series(
        pd.to_datetime(first_held["first_event_at"]).to_numpy() - pd.Timedelta(microseconds=1),
        index=first_held["person_key"].astype(str).to_numpy(),
    )
    too_few = int(positives.loc[count < min_positives, "person_key"].nunique())
    cutoffs = Cutoffs(interactions["first_event_at"].max(), per_person)
    known = cutoffs.known(interactions, "first_event_at")
    evaluated = interactions["person_key"].isin(per_person.index)
    holdout = interactions[~known & evaluated & interactions["is_positive"]]
    return TemporalSplit(
        history=interactions[known].reset_index(drop=True),
        holdout=holdout.reset_index(drop=True),
        cutoffs=cutoffs,
        persons_too_few_positives=too_few,
    )


def as_of(
    marts: Marts, cutoff: pd.Timestamp | Cutoffs, rules: EvidenceRules | None = None
) -> Marts:
    """The marts as they would have looked at ``cutoff`` (one date, or each person's own:
    ``Cutoffs``), as far as they can be rebuilt.

    The hold-out must not see the future through features. Skill estimates, confidences
    and gaps are recomputed from the evidence known at the cutoff with the marts' own
    rules (``ml.evidence``; ``rules`` default to those the marts were built with), recency
    counted to each person's own cutoff; format affinity is recomputed from the engagement
    rows before the cutoff with the same smoothing as the mart's contract (a smoothed
    completion rate). Rows of ``fct_content_engagement`` after the cutoff are removed.
    Marts without evidence rows get an empty profile. What cannot be rebuilt stays as of
    today for every approach alike: roles, departments, new-hire flags, the catalogue.
    """
    rules = rules or EvidenceRules.of_marts(marts.skill_profile_rules)
    cutoffs = cutoff if isinstance(cutoff, Cutoffs) else Cutoffs(cutoff)
    eng = marts.engagement[cutoffs.known(marts.engagement, "first_event_at")]
    evidence = marts.skill_evidence
    per_row = cutoffs.of(evidence["person_key"]) if not cutoffs.per_person.empty else None
    profile = profile_as_of(evidence, per_row if per_row is not None else cutoffs.default, rules)
    return replace(
        marts,
        engagement=eng,
        skill_evidence=evidence[cutoffs.known(evidence, "evidence_at")],
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
