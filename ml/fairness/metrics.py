"""What the audit measures and reads: sources, attributes, metrics, the audit's statuses
and its settings (``AuditSettings``, checked by ``check_settings``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

CANDIDATE, HOLDOUT = "candidate", "holdout"
# The lists a recommender that learns only from the organisation's history (vanilla
# LightFM, the quality evaluation's reference) made on the hold-out: never published and
# never blocking, they show whether the history itself is steered, so that the report can
# say whether the candidate repeats a steering or does not.
REFERENCE = "reference"
STRATA = ("job_family", "seniority_level")
ATTRIBUTES = (
    "gender",
    "age_band",
    "disability",
    "location",
    "employment_type",
    "gender_x_age_band",
)
SENSITIVE_COLUMNS = ("gender", "birth_year", "disability")  # of the sensitive-attribute export
FROM_SENSITIVE = ("gender", "age_band", "disability", "gender_x_age_band")
OTHER = "other"
EXPOSURE = ("exposure_advanced", "exposure_leadership")
NEED_EXPOSURE = ("exposure_advanced_need", "exposure_leadership_need")
QUALITY = ("precision_at_10", "ndcg_at_10", "gap_coverage")
# metric -> (population it is computed on, what it means in one line)
METRICS: dict[str, tuple[str, str]] = {
    "exposure_advanced": ("all", "share of listed items at an advanced level"),
    "exposure_leadership": ("all", "share of listed items that teach leadership"),
    "exposure_advanced_need": (
        "role needs level 4+",
        "share of advanced items, among persons whose role needs level 4+ in a skill",
    ),
    "exposure_leadership_need": (
        "role needs level 4+",
        "share of leadership items, among persons whose role needs level 4+ in a skill",
    ),
    "personalised": ("consenting", "share of consenting persons with a personalised list"),
    "role_path": ("all", "share of persons who received the role path (opted-out included)"),
    "opted_out": ("all", "share of persons who opted out of personalisation"),
    "precision_at_10": ("hold-out", "share of the 10 items the person went on to complete"),
    "ndcg_at_10": ("hold-out", "how high up the list the items the person completed were"),
    "gap_coverage": ("hold-out", "share of items that teach a skill the person lacks"),
}
SOURCE_METRICS: dict[str, tuple[str, ...]] = {
    CANDIDATE: (
        *EXPOSURE,
        *NEED_EXPOSURE,
        "personalised",
        "role_path",
        "opted_out",
    ),
    HOLDOUT: (*QUALITY, *EXPOSURE),
    REFERENCE: (*EXPOSURE, *NEED_EXPOSURE),
}

# gate statuses of the audit as a whole (the publication's gate list maps onto them)
PASSED, FAILED, WARNING, NOT_AUDITED = "passed", "failed", "warning", "not_audited"


class AuditSettings(Protocol):
    """What the audit reads of its configuration (the project's ``[fairness]`` section,
    where each value's reason is written beside it)."""

    min_group_size: int
    small_groups: str  # "merge" (into "other") or "suppress"
    not_stated: tuple[str, ...]
    age_band_edges: tuple[int, ...]
    advanced_level: int
    leadership_categories: tuple[str, ...]
    leadership_skills: tuple[str, ...]
    blocking_metrics: tuple[str, ...]  # "<source>.<metric>"
    blocking_attributes: tuple[str, ...]
    min_ratio: Mapping[str, float]  # metric -> ratio to the rest below which it counts
    alpha: float
    n_boot: int
    seed: int


def check_settings(settings: AuditSettings) -> None:
    """Refuse settings the audit cannot honour, naming the key."""
    if settings.small_groups not in ("merge", "suppress"):
        raise ValueError(
            f"fairness.small_groups: {settings.small_groups!r} is not merge or suppress"
        )
    for name in settings.blocking_metrics:
        source, _, metric = name.partition(".")
        if source == REFERENCE:
            raise ValueError(
                f"fairness.blocking_metrics: {name!r} cannot block: the reference lists are "
                "never published (they show whether the history is steered)"
            )
        if source not in SOURCE_METRICS or metric not in SOURCE_METRICS[source]:
            known = ", ".join(f"{s}.{m}" for s, ms in SOURCE_METRICS.items() for m in ms)
            raise ValueError(f"fairness.blocking_metrics: {name!r} is not one of {known}")
        if metric not in settings.min_ratio:
            raise ValueError(f"fairness.min_ratio: the blocking metric {metric!r} has none")
    unknown = sorted(set(settings.blocking_attributes) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(
            f"fairness.blocking_attributes: {', '.join(unknown)} not among {', '.join(ATTRIBUTES)}"
        )
