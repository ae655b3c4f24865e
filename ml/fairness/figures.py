"""Per-person figures of a recommendation list: advanced and leadership exposure,
personalised or not (the hold-out's quality figures come from ``ml.evaluate``)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ml.fairness.metrics import AuditSettings


@dataclass(frozen=True)
class ContentFlags:
    """Which items count as advanced and as leadership; ``leadership_note`` says why
    leadership exposure is not computed, when it is not."""

    flags: pd.DataFrame  # content_id, advanced (bool), leadership (bool or NA)
    leadership_note: str | None


def content_flags(
    content: pd.DataFrame,
    content_skills: pd.DataFrame,
    skills: pd.DataFrame,
    config: AuditSettings,
) -> ContentFlags:
    """Advanced from the catalogue level; leadership from the taxonomy — an item teaching a
    skill whose category is one of ``leadership_categories`` or whose id is one of
    ``leadership_skills``. Without such a skill in the taxonomy nobody can say which items
    are leadership content, so the figure is not computed rather than reported as 0."""
    flags = pd.DataFrame({"content_id": content["content_id"].astype(str)})
    flags["advanced"] = (
        pd.to_numeric(content["level"], errors="coerce").ge(config.advanced_level).to_numpy()
    )
    categories = {c.strip().lower() for c in config.leadership_categories}
    ids = set(config.leadership_skills)
    skill_category = skills.get("category", pd.Series(dtype=object)).astype(str).str.lower()
    leading = skills.loc[skill_category.isin(categories) | skills["skill_id"].isin(ids), "skill_id"]
    if leading.empty:
        named = ", ".join(sorted(categories | ids)) or "none configured"
        note = f"not computed: no skill in the taxonomy is marked as leadership ({named})"
        flags["leadership"] = pd.NA
        return ContentFlags(flags, note)
    teaching = set(content_skills.loc[content_skills["skill_id"].isin(leading), "content_id"])
    flags["leadership"] = flags["content_id"].isin(teaching)
    return ContentFlags(flags, None)


def list_figures(lists: pd.DataFrame, flags: pd.DataFrame) -> pd.DataFrame:
    """Per person: the share of their listed items that are advanced / leadership, and
    whether their list is personalised. ``lists``: person_key, content_id, personalised."""
    joined = lists[["person_key", "content_id", "personalised"]].merge(
        flags, on="content_id", how="left"
    )
    joined["advanced"] = joined["advanced"].fillna(False).astype(float)
    joined["leadership"] = pd.to_numeric(joined["leadership"], errors="coerce").astype(float)
    joined["personalised"] = joined["personalised"].astype(float)
    per = joined.groupby("person_key", sort=True).agg(
        exposure_advanced=("advanced", "mean"),
        exposure_leadership=("leadership", "mean"),
        personalised=("personalised", "max"),
    )
    return per.reset_index()
