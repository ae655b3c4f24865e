"""The decision rule: which comparisons block (below the threshold and the Holm-level
interval excludes parity), the audit's verdict and one line per failure."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ml.fairness.comparison import Comparison, holm, ratio_interval
from ml.fairness.groups import AttributeGroups
from ml.fairness.metrics import CANDIDATE, FAILED, NOT_AUDITED, PASSED, WARNING, AuditSettings


def decide(comparisons: list[Comparison], config: AuditSettings) -> list[Comparison]:
    """Mark the blocking comparisons: on the pre-declared list, Holm across all of them;
    a comparison blocks when its ratio is below the threshold and its Holm-level interval
    excludes parity."""
    declared = set(config.blocking_metrics)
    blocking = [
        i
        for i, c in enumerate(comparisons)
        if f"{c.source}.{c.metric}" in declared
        and c.attribute in config.blocking_attributes
        and math.isfinite(c.p_value)
    ]
    adjusted = holm([comparisons[i].p_value for i in blocking])
    order = np.argsort([comparisons[i].p_value for i in blocking], kind="stable")
    rank = {blocking[i]: r for r, i in enumerate(order)}
    out = list(comparisons)
    m = len(blocking)
    for i, holm_p in zip(blocking, adjusted, strict=True):
        c = comparisons[i]
        level = config.alpha / (m - rank[i])
        low, high = ratio_interval(c.ratio, c.standard_error, level)
        threshold = config.min_ratio[c.metric]
        beyond = c.ratio < threshold
        excludes = holm_p < config.alpha
        out[i] = _replace(
            c,
            blocking=True,
            threshold=threshold,
            holm_p=holm_p,
            holm_ci_low=low,
            holm_ci_high=high,
            beyond_threshold=beyond,
            excludes_parity=excludes,
            blocks=beyond and excludes,
        )
    for i, c in enumerate(out):
        if not c.blocking:
            threshold = config.min_ratio.get(c.metric)
            out[i] = _replace(
                c,
                threshold=threshold,
                beyond_threshold=threshold is not None and c.ratio < threshold,
                excludes_parity=not (c.ci_low <= 1 <= c.ci_high),
            )
    return out


def _replace(c: Comparison, **changes) -> Comparison:
    return Comparison(**{**c.__dict__, **changes})


BASE_SENSITIVE = ("gender", "age_band", "disability")


def verdict(
    comparisons: list[Comparison],
    groups: Mapping[str, Mapping[str, AttributeGroups]],
    notes: Mapping[str, str],
    persons: Mapping[str, int],
) -> tuple[str, str]:
    """failed (a blocking comparison blocks) > not_audited (none of gender, age band and
    disability could be audited on the candidate) > warning (one of them, or the
    hold-out, could not) > passed."""
    failures = [c for c in comparisons if c.blocks]
    if failures:
        more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
        return FAILED, "; ".join(describe(c) for c in failures[:5]) + more
    if not persons.get(CANDIDATE):
        return NOT_AUDITED, (
            "not audited: the candidate lists name no employee of the marts "
            "(has the marts stage run?)"
        )
    candidate = groups[CANDIDATE]
    missing = {a: candidate[a].note for a in BASE_SENSITIVE if not candidate[a].audited}
    if len(missing) == len(BASE_SENSITIVE):
        return NOT_AUDITED, "not audited: " + "; ".join(sorted(set(missing.values())))
    blocking = sum(c.blocking for c in comparisons)
    clear = f"no blocking disparity in {blocking} comparisons"
    gaps = [f"{a} ({note})" for a, note in missing.items()]
    if "holdout" in notes:
        gaps.append(f"hold-out quality ({notes['holdout']})")
    if gaps:
        return WARNING, f"{clear}; not audited: " + "; ".join(gaps)
    return PASSED, clear


def describe(c: Comparison) -> str:
    """A blocking comparison in one line: metric, groups, sizes, by how much, interval."""
    low = c.holm_ci_low if c.holm_ci_low is not None else c.ci_low
    high = c.holm_ci_high if c.holm_ci_high is not None else c.ci_high
    return (
        f"{c.source} {c.metric} by {c.attribute}: {c.group} ({c.persons} persons) gets "
        f"{c.ratio:.2f}× what the other {c.rest_persons} comparable persons get "
        f"(interval {low:.2f}–{high:.2f}, threshold {c.threshold:.2f})"
    )
