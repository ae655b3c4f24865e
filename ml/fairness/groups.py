"""Groups of each attribute: cleaning "not stated" values, age bands, and merging or
suppressing groups smaller than ``min_group_size``."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.fairness.metrics import ATTRIBUTES, FROM_SENSITIVE, OTHER, AuditSettings


@dataclass(frozen=True)
class AttributeGroups:
    """One attribute's groups on one population: labels per person (NA: not stated or
    suppressed) and what was done to get there."""

    attribute: str
    labels: pd.Series  # index person_key
    not_stated: int
    merged: tuple[str, ...] = ()  # original groups merged into "other"
    suppressed: tuple[str, ...] = ()  # groups left out (still too small)
    suppressed_persons: int = 0
    note: str | None = None  # why the attribute is not audited, when it is not

    @property
    def groups(self) -> list[str]:
        return sorted(self.labels.dropna().unique().tolist())

    @property
    def audited(self) -> bool:
        return self.note is None


def _clean(values: pd.Series, not_stated: Sequence[str]) -> pd.Series:
    """Text as stated; empty and "prefer not to say"-like values become NA."""
    tokens = {t.strip().lower().replace(" ", "_") for t in not_stated}
    text = values.astype("string").str.strip()
    key = text.str.lower().str.replace(" ", "_", regex=False)
    return text.mask(key.isna() | key.isin(tokens) | (key == ""))


def age_band(birth_year: pd.Series, reference_year: int, edges: Sequence[int]) -> pd.Series:
    """ "under 30", "30–39", … "50 and over" for edges (30, 40, 50); NA where unknown."""
    age = reference_year - pd.to_numeric(birth_year, errors="coerce")
    labels = [f"under {edges[0]}"]
    labels += [f"{lo}–{hi - 1}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]} and over")
    bins = [-np.inf, *edges, np.inf]
    return pd.cut(age, bins=bins, labels=labels, right=False).astype("string")


def raw_attributes(
    people: pd.DataFrame,
    sensitive: pd.DataFrame | None,
    config: AuditSettings,
    reference_year: int,
) -> pd.DataFrame:
    """Every attribute per person (index person_key), NA where not stated. Sensitive
    attributes are joined here, by person key, and go nowhere but the audit."""
    out = pd.DataFrame(index=pd.Index(people["person_key"].astype(str), name="person_key"))
    for column in ("location", "employment_type"):
        values = people[column] if column in people else pd.Series(pd.NA, index=people.index)
        out[column] = _clean(pd.Series(values.to_numpy(), index=out.index), config.not_stated)
    if sensitive is None or sensitive.empty:
        for column in FROM_SENSITIVE:
            out[column] = pd.Series(pd.NA, index=out.index, dtype="string")
        return out
    s = sensitive.drop_duplicates("person_key", keep="last").set_index("person_key")
    s = s.reindex(out.index)
    out["gender"] = _clean(s.get("gender", pd.Series(index=s.index)), config.not_stated)
    out["disability"] = _clean(s.get("disability", pd.Series(index=s.index)), config.not_stated)
    out["age_band"] = age_band(
        s.get("birth_year", pd.Series(index=s.index)), reference_year, config.age_band_edges
    )
    both = out["gender"].notna() & out["age_band"].notna()
    out["gender_x_age_band"] = (out["gender"] + " · " + out["age_band"]).where(both)
    return out[list(ATTRIBUTES)]


def reportable_groups(
    attribute: str,
    labels: pd.Series,
    config: AuditSettings,
    missing_note: str | None = None,
) -> AttributeGroups:
    """Groups of at least ``min_group_size`` persons; smaller ones merged into "other" (or
    suppressed); an "other" that is still too small is suppressed. Fewer than two groups
    left means nothing to compare: the attribute is not audited on this population."""
    stated = labels.dropna()
    not_stated = int(labels.isna().sum())
    if stated.empty:
        note = missing_note or "no person has a stated value"
        return AttributeGroups(attribute, labels, not_stated, note=note)
    counts = stated.value_counts()
    small = sorted(counts.index[counts < config.min_group_size].tolist())
    out = labels.copy()
    merged: tuple[str, ...] = ()
    suppressed: list[str] = []
    if small and config.small_groups == "merge":
        out = out.where(~out.isin(small), OTHER)
        merged = tuple(small)
        if (out == OTHER).sum() < config.min_group_size:
            suppressed.append(OTHER)
            out = out.mask(out == OTHER)
    elif small:
        suppressed.extend(small)
        out = out.mask(out.isin(small))
    suppressed_persons = int(out.isna().sum()) - not_stated
    out = out.astype(object).where(out.notna(), None)  # comparable element-wise
    groups = AttributeGroups(
        attribute, out, not_stated, merged, tuple(suppressed), suppressed_persons
    )
    if len(groups.groups) < 2:
        note = f"fewer than two groups of at least {config.min_group_size} persons"
        return AttributeGroups(
            attribute, out, not_stated, merged, tuple(suppressed), suppressed_persons, note
        )
    return groups
