"""Fairness audit of recommendation lists: who gets what, by group, among comparable
colleagues — with intervals, and a decision rule that blocks only what the data show.

Per person, from their list (``list_figures``): the share of advanced items (level at or
above ``advanced_level``), the share of leadership items (teaching a skill whose category
or id the configuration names — not computed where no taxonomy says which), whether the
list is personalised; from the hold-out lists also precision@10, NDCG@10 and gap
coverage (figures of ``ml.evaluate``). Sources: ``candidate`` (the lists about to be
published, everyone incl. persons who opted out) and ``holdout`` (the lists the hold-out
evaluation judged; the only ones with ground truth).

Conditioned on need. A junior and a department head should not get the same share of
advanced content, so each person is compared with colleagues of the same job family and
seniority (Fairlearn ``control_features``): ``expected`` is the mean of that stratum, and
a group's *index* is what it received over what comparable colleagues received
(observed / expected summed over its members; 1 = like comparable colleagues — indirect
standardisation). Skill levels are deliberately not a control: they carry whatever bias
the history holds. The candidate's exposure is also reported among persons whose role
requires level 4+ in a skill (``*_need``), the population where advanced content is
needed most.

Groups: gender, age band (from birth year), disability, location, employment type and
gender × age band. Values that say nothing ("prefer not to say", empty) are counted as
not stated, never guessed. Groups smaller than ``min_group_size`` are merged into
"other" (or suppressed, by configuration); an "other" that is still too small is
suppressed — no figure describes fewer than ``min_group_size`` persons.

Comparison: each group against everyone else with a stated value (the "rest"), as the
ratio of their indices. Intervals come from one vectorised bootstrap over persons
(``bootstrap``): Fairlearn's own (``MetricFrame(n_boot=...)``) recomputes every group
with pandas per resample, about 11 s per 100 resamples at 10,000 persons, where this
takes well under a second for 2,000; ``tests/test_fairness_audit.py`` checks that both
give the same intervals. The standard error of each ratio comes from the resamples;
intervals are estimate ± z × standard error (normal bootstrap interval), which stays
stable at the extreme levels a multiple-comparison correction asks for.

Decision rule (``decide``): only comparisons on the pre-declared blocking metrics and
attributes can block; one blocks when its ratio is below the configured minimum AND its
interval — at the Holm-corrected level across all blocking comparisons — excludes
parity (1). Everything else is reported. Group-level figures only: nothing here returns
or logs a person.

The package, by concern: ``metrics`` (what is measured, the statuses, the settings),
``figures`` (per-person figures), ``groups`` (attributes and reportable groups),
``statistics`` (cells, the Fairlearn ``MetricFrame``, the bootstrap), ``comparison``
(result types and intervals), ``auditing`` (``audit``), ``decision`` (``decide``,
``verdict``). Import from ``ml.fairness``: every public name is here.
"""

from ml.fairness.auditing import (
    FairnessAudit,
    GroupSums,
    SourceInput,
    audit,
    strata_labels,
)
from ml.fairness.comparison import (
    AttributeSummary,
    Comparison,
    holm,
    log_standard_error,
    ratio_interval,
    ratio_p_value,
)
from ml.fairness.decision import (
    BASE_SENSITIVE,
    decide,
    describe,
    verdict,
)
from ml.fairness.figures import (
    ContentFlags,
    content_flags,
    list_figures,
)
from ml.fairness.groups import (
    AttributeGroups,
    age_band,
    raw_attributes,
    reportable_groups,
)
from ml.fairness.metrics import (
    ATTRIBUTES,
    CANDIDATE,
    EXPOSURE,
    FAILED,
    FROM_SENSITIVE,
    HOLDOUT,
    METRICS,
    NOT_AUDITED,
    OTHER,
    PASSED,
    QUALITY,
    REFERENCE,
    SENSITIVE_COLUMNS,
    SOURCE_METRICS,
    STRATA,
    WARNING,
    AuditSettings,
    check_settings,
)
from ml.fairness.statistics import (
    Cells,
    bootstrap,
    cells,
    group_frame,
    stratum_expectation,
)

__all__ = [
    "ATTRIBUTES",
    "BASE_SENSITIVE",
    "CANDIDATE",
    "EXPOSURE",
    "FAILED",
    "FROM_SENSITIVE",
    "HOLDOUT",
    "METRICS",
    "NOT_AUDITED",
    "OTHER",
    "PASSED",
    "QUALITY",
    "REFERENCE",
    "SENSITIVE_COLUMNS",
    "SOURCE_METRICS",
    "STRATA",
    "WARNING",
    "AttributeGroups",
    "AttributeSummary",
    "AuditSettings",
    "Cells",
    "Comparison",
    "ContentFlags",
    "FairnessAudit",
    "GroupSums",
    "SourceInput",
    "age_band",
    "audit",
    "bootstrap",
    "cells",
    "check_settings",
    "content_flags",
    "decide",
    "describe",
    "group_frame",
    "holm",
    "list_figures",
    "log_standard_error",
    "ratio_interval",
    "ratio_p_value",
    "raw_attributes",
    "reportable_groups",
    "strata_labels",
    "stratum_expectation",
    "verdict",
]
