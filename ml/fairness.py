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
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame
from scipy.stats import norm

CANDIDATE, HOLDOUT = "candidate", "holdout"
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
        "exposure_advanced",
        "exposure_leadership",
        "exposure_advanced_need",
        "exposure_leadership_need",
        "personalised",
        "role_path",
        "opted_out",
    ),
    HOLDOUT: (*QUALITY, *EXPOSURE),
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


# --- per-person figures --------------------------------------------------------------


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


# --- groups ---------------------------------------------------------------------------


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


# --- statistics -----------------------------------------------------------------------


def stratum_expectation(values: pd.DataFrame, strata: pd.Series) -> pd.DataFrame:
    """Per person and metric: the mean of their stratum (job family × seniority) over
    everyone in it with a figure — what comparable colleagues received."""
    return values.groupby(strata.to_numpy(), dropna=False).transform("mean")


@dataclass(frozen=True)
class Cells:
    """Per-person figures summed per (stratum, group) cell of one attribute: persons with a
    figure, observed and expected sums, each (cells × metrics). Sums are additive, so
    every group figure is a sum over cells — what Fairlearn is given instead of 10,000
    rows (its per-call cost grows with the rows it is handed)."""

    stratum: np.ndarray
    group: np.ndarray
    persons: np.ndarray
    observed: np.ndarray
    expected: np.ndarray


def cells(obs: np.ndarray, exp: np.ndarray, strata: np.ndarray, labels: np.ndarray) -> Cells:
    rows = pd.notna(labels)
    valid = ~np.isnan(obs[rows])
    n_metrics = obs.shape[1]
    frame = pd.DataFrame(
        np.hstack([valid, np.where(valid, obs[rows], 0.0), np.where(valid, exp[rows], 0.0)]).astype(
            float
        )
    )
    keys = [pd.Series(strata[rows], name="stratum"), pd.Series(labels[rows], name="group")]
    summed = frame.groupby(keys, sort=True).sum()
    values = summed.to_numpy()
    return Cells(
        stratum=summed.index.get_level_values("stratum").to_numpy(dtype=object),
        group=summed.index.get_level_values("group").to_numpy(dtype=object),
        persons=values[:, :n_metrics],
        observed=values[:, n_metrics : 2 * n_metrics],
        expected=values[:, 2 * n_metrics :],
    )


def group_frame(c: Cells, metrics: Sequence[str], scale: np.ndarray, attribute: str) -> MetricFrame:
    """Fairlearn's MetricFrame of one attribute: per group and metric the need-adjusted
    mean — observed over expected (the index: 1 = like comparable colleagues) times the
    population's mean ``scale`` — so ``by_group``, ``difference()`` and ``ratio()`` are in
    the metric's own units (e.g. a share of the list)."""

    def adjusted(m: int):
        def metric(y_true: np.ndarray, y_pred: np.ndarray) -> float:
            rows = np.asarray(y_true, dtype=np.int64)
            expected = c.expected[rows, m].sum()
            return c.observed[rows, m].sum() / expected * scale[m] if expected > 0 else np.nan

        return metric

    rows = np.arange(len(c.group))
    return MetricFrame(
        metrics={metric: adjusted(m) for m, metric in enumerate(metrics)},
        y_true=rows,
        y_pred=rows,
        sensitive_features=pd.Series(c.group, name=attribute),
    )


def bootstrap(
    observed: np.ndarray,
    expected: np.ndarray,
    indicators: np.ndarray,
    n_boot: int,
    seed: int,
    chunk: int = 250,
) -> tuple[np.ndarray, np.ndarray]:
    """Sums of ``observed`` and ``expected`` (persons × metrics, NaN: no figure) over the
    persons of each indicator column (persons × columns, 0/1) in ``n_boot`` resamples of
    the persons with replacement — the same resampling as Fairlearn's MetricFrame
    bootstrap, as a matrix product of resample counts: (n_boot × columns) each."""
    n, n_metrics = observed.shape
    valid = ~np.isnan(observed)
    obs = np.where(valid, observed, 0.0)
    exp = np.where(valid, expected, 0.0)
    # one design matrix: for each metric its observed and expected values per indicator
    design = np.concatenate(
        [obs[:, m, None] * indicators for m in range(n_metrics)]
        + [exp[:, m, None] * indicators for m in range(n_metrics)],
        axis=1,
    ).astype(np.float32)
    width = n_metrics * indicators.shape[1]
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, 2 * width), dtype=np.float64)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        draws = rng.integers(0, n, size=(size, n))
        flat = (draws + (np.arange(size) * n)[:, None]).ravel()
        counts = np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float32)
        out[start : start + size] = counts @ design
    return out[:, :width], out[:, width:]


@dataclass(frozen=True)
class Comparison:
    """One group against the rest of its attribute on one metric."""

    source: str
    metric: str
    attribute: str
    group: str
    persons: int
    rest_persons: int
    mean: float  # what the group received on average
    adjusted: float  # need-adjusted: index × the population's mean
    index: float  # observed / expected (1 = like comparable colleagues)
    rest_index: float
    ratio: float  # index / rest_index
    standard_error: float  # of log(ratio), from the bootstrap
    ci_low: float  # 1 - alpha interval of the ratio
    ci_high: float
    p_value: float
    blocking: bool = False  # on the pre-declared list
    threshold: float | None = None
    holm_p: float | None = None
    holm_ci_low: float | None = None
    holm_ci_high: float | None = None
    beyond_threshold: bool = False
    excludes_parity: bool = False
    blocks: bool = False

    @property
    def key(self) -> str:
        return f"{self.source}.{self.metric}.{self.attribute}"


@dataclass(frozen=True)
class AttributeSummary:
    """Fairlearn's between-group figures of one metric and attribute on the need-adjusted
    means: difference (max - min) and ratio (min / max), with bootstrap intervals."""

    source: str
    metric: str
    attribute: str
    groups: int
    difference: float
    ratio: float
    difference_ci: tuple[float, float]
    ratio_ci: tuple[float, float]


def _z(alpha: float) -> float:
    return float(norm.ppf(1 - alpha / 2))


def _interval(estimate: float, se: float, alpha: float) -> tuple[float, float]:
    if not math.isfinite(se):
        return float("nan"), float("nan")
    half = _z(alpha) * se
    return estimate - half, estimate + half


def _sd(samples: np.ndarray) -> float:
    finite = samples[np.isfinite(samples)]
    return float(np.std(finite, ddof=1)) if finite.size > 1 else float("nan")


def log_standard_error(samples: np.ndarray) -> float:
    """Standard error of a ratio on the log scale, from its resamples. Ratios of group
    means are skewed (bounded by 0, open above); on the log scale their resamples are
    close to normal, so intervals and p-values of ``_ratio_interval`` / ``_ratio_p``
    hold their level also in small groups. NaN when a resample has no such figure."""
    finite = samples[np.isfinite(samples)]
    if finite.size < 2 or (finite <= 0).any():
        return float("nan")
    return float(np.std(np.log(finite), ddof=1))


def ratio_interval(ratio: float, log_se: float, alpha: float) -> tuple[float, float]:
    if not (math.isfinite(log_se) and ratio > 0):
        return float("nan"), float("nan")
    half = _z(alpha) * log_se
    return math.exp(math.log(ratio) - half), math.exp(math.log(ratio) + half)


def ratio_p_value(ratio: float, log_se: float) -> float:
    """Two-sided, against parity (ratio 1)."""
    if not (math.isfinite(log_se) and ratio > 0):
        return float("nan")
    if log_se == 0:
        return 1.0 if ratio == 1 else 0.0
    return float(2 * norm.sf(abs(math.log(ratio)) / log_se))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone)."""
    order = np.argsort(p_values, kind="stable")
    m = len(p_values)
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


# --- the audit ------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInput:
    """Per-person figures of one source: ``figures`` person_key + metric columns (NaN: no
    figure for that person, e.g. ``personalised`` for a person who opted out)."""

    name: str
    figures: pd.DataFrame


@dataclass(frozen=True)
class FairnessAudit:
    status: str  # passed | failed | warning | not_audited
    message: str
    comparisons: list[Comparison]
    summaries: list[AttributeSummary]
    groups: dict[str, dict[str, AttributeGroups]]  # source -> attribute -> groups
    notes: dict[str, str]  # metric or attribute -> why it is not computed / audited
    persons: dict[str, int]  # source -> persons audited
    config: AuditSettings
    stratum_table: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def failures(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.blocks]

    def group_table(self) -> pd.DataFrame:
        """Group-level figures, one row per source × metric × attribute × group."""
        return pd.DataFrame([c.__dict__ for c in self.comparisons])

    def summary_table(self) -> pd.DataFrame:
        return pd.DataFrame([s.__dict__ for s in self.summaries])

    def mlflow_metrics(self) -> dict[str, float]:
        """``fairness.<source>.<metric>.<attribute>.{ratio,difference}`` (Fairlearn's
        between-group figures on need-adjusted means) and counts of the decision."""
        out: dict[str, float] = {}
        for s in self.summaries:
            base = f"fairness.{s.source}.{s.metric}.{s.attribute}"
            out[f"{base}.ratio"] = s.ratio
            out[f"{base}.difference"] = s.difference
        out["fairness.blocking_comparisons"] = float(sum(c.blocking for c in self.comparisons))
        out["fairness.blocking_failures"] = float(len(self.failures))
        return {k: float(v) for k, v in out.items() if v is not None and math.isfinite(v)}


def strata_labels(people: pd.DataFrame) -> pd.Series:
    """Each person's comparable colleagues: job family × seniority (``STRATA``)."""
    parts = [people[c].astype("string").fillna("unknown") for c in STRATA if c in people]
    if not parts:
        return pd.Series("all", index=people.index)
    label = parts[0]
    for part in parts[1:]:
        label = label + " × " + part
    return label


def _source_figures(
    source: SourceInput, people: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """The source's persons with their strata and metric columns (need-only metrics NaN
    outside the need population)."""
    frame = source.figures.merge(people, on="person_key", how="inner")
    if source.name == CANDIDATE:
        need = frame.get("needs_advanced", pd.Series(False, index=frame.index)).fillna(False)
        for metric in EXPOSURE:
            frame[f"{metric}_need"] = frame[metric].where(need.astype(bool))
        opted = frame.get("opted_out", pd.Series(False, index=frame.index)).fillna(False)
        frame["opted_out"] = opted.astype(float)
        frame["role_path"] = 1.0 - frame["personalised"].astype(float)
        frame["personalised"] = frame["personalised"].astype(float).where(~opted.astype(bool))
    metrics = [m for m in SOURCE_METRICS[source.name] if m in frame]
    return frame, strata_labels(frame), metrics


def audit(
    people: pd.DataFrame,
    sensitive: pd.DataFrame | None,
    sources: Sequence[SourceInput],
    config: AuditSettings,
    reference_year: int,
    notes: Mapping[str, str] | None = None,
    sensitive_note: str | None = None,
) -> FairnessAudit:
    """The whole audit. ``people``: person_key, job_family, seniority_level, location,
    employment_type, opted_out, needs_advanced. ``sensitive``: person_key, gender,
    birth_year, disability, or None when there is no such data (``sensitive_note`` says
    why). ``notes``: metrics not computed and why (e.g. no leadership taxonomy)."""
    notes = dict(notes or {})
    attributes = raw_attributes(people, sensitive, config, reference_year)
    comparisons: list[Comparison] = []
    summaries: list[AttributeSummary] = []
    all_groups: dict[str, dict[str, AttributeGroups]] = {}
    persons: dict[str, int] = {}
    strata_rows: list[pd.DataFrame] = []
    for source in sources:
        frame, strata, metrics = _source_figures(source, people)
        metrics = [m for m in metrics if frame[m].notna().any() and m not in notes]
        persons[source.name] = len(frame)
        labels = attributes.reindex(frame["person_key"].astype(str))
        groups = {
            a: reportable_groups(
                a,
                labels[a].reset_index(drop=True),
                config,
                sensitive_note if a in FROM_SENSITIVE else None,
            )
            for a in ATTRIBUTES
        }
        all_groups[source.name] = groups
        if not metrics or frame.empty:
            continue
        values = frame[metrics].astype(float).reset_index(drop=True)
        strata = strata.reset_index(drop=True)
        expected = stratum_expectation(values, strata)
        found, summary, tables = _compare(
            source.name, values, expected, strata.to_numpy(dtype=object), groups, config
        )
        comparisons += found
        summaries += summary
        strata_rows += tables
    comparisons = decide(comparisons, config)
    stratum_table = pd.concat(strata_rows, ignore_index=True) if strata_rows else pd.DataFrame()
    status, message = verdict(comparisons, all_groups, notes, persons)
    return FairnessAudit(
        status, message, comparisons, summaries, all_groups, notes, persons, config, stratum_table
    )


def _compare(
    source: str,
    values: pd.DataFrame,
    expected: pd.DataFrame,
    strata: np.ndarray,
    groups: Mapping[str, AttributeGroups],
    config: AuditSettings,
) -> tuple[list[Comparison], list[AttributeSummary], list[pd.DataFrame]]:
    """Every group against the rest, per metric and audited attribute: point figures from
    Fairlearn's MetricFrame, intervals from one bootstrap shared by all of them."""
    metrics = list(values.columns)
    audited = [g for g in groups.values() if g.audited]
    columns = [(g.attribute, name) for g in audited for name in g.groups]
    if not columns:
        return [], [], []
    obs = values.to_numpy(dtype=float)
    exp = np.where(np.isnan(obs), np.nan, expected.to_numpy(dtype=float))
    indicators = np.column_stack(
        [groups[a].labels.to_numpy(dtype=object) == name for a, name in columns]
    ).astype(np.float64)
    boot_obs, boot_exp = bootstrap(obs, exp, indicators, config.n_boot, config.seed)
    width = len(columns)
    scale = np.nanmean(obs, axis=0)
    comparisons: list[Comparison] = []
    summaries: list[AttributeSummary] = []
    tables: list[pd.DataFrame] = []
    for g in audited:
        c = cells(obs, exp, strata, g.labels.to_numpy(dtype=object))
        frame = group_frame(c, metrics, scale, g.attribute)
        tables.append(_stratum_rows(source, g.attribute, c, metrics, config))
        point = GroupSums.of(c, frame, metrics)
        cols = np.array([i for i, (attr, _) in enumerate(columns) if attr == g.attribute])
        for m, metric in enumerate(metrics):
            boot = (boot_obs[:, m * width + cols], boot_exp[:, m * width + cols])
            found = _attribute_comparisons(
                source, metric, g.attribute, point, m, boot, float(scale[m]), config
            )
            if found is not None:
                comparisons += found[0]
                summaries.append(found[1])
    return comparisons, summaries, tables


@dataclass(frozen=True)
class GroupSums:
    """One attribute's groups (sorted, as the bootstrap columns), each (groups × metrics):
    persons with a figure, observed and expected sums, Fairlearn's need-adjusted means;
    and per metric Fairlearn's between-group difference and ratio."""

    names: list[str]
    persons: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    adjusted: np.ndarray
    difference: np.ndarray
    ratio: np.ndarray

    @classmethod
    def of(cls, c: Cells, frame: MetricFrame, metrics: list[str]) -> GroupSums:
        def summed(values: np.ndarray) -> pd.DataFrame:
            return pd.DataFrame(values).groupby(c.group, sort=True).sum()

        persons = summed(c.persons)
        names = [str(n) for n in persons.index]
        return cls(
            names=names,
            persons=persons.to_numpy(),
            observed=summed(c.observed).to_numpy(),
            expected=summed(c.expected).to_numpy(),
            adjusted=frame.by_group[metrics].reindex(persons.index).to_numpy(dtype=float),
            difference=frame.difference()[metrics].to_numpy(dtype=float),
            ratio=frame.ratio()[metrics].to_numpy(dtype=float),
        )


def _attribute_comparisons(
    source: str,
    metric: str,
    attribute: str,
    point: GroupSums,
    m: int,
    boot: tuple[np.ndarray, np.ndarray],
    scale: float,
    config: AuditSettings,
) -> tuple[list[Comparison], AttributeSummary] | None:
    """One metric and attribute: each group against the rest, and the between-group
    summary. ``scale``: the population's mean, turning an index into the metric's units."""
    persons, observed, expected = point.persons[:, m], point.observed[:, m], point.expected[:, m]
    if (persons > 0).sum() < 2:
        return None
    boot_obs, boot_exp = boot
    with np.errstate(divide="ignore", invalid="ignore"):
        index = observed / expected
        rest_index = (observed.sum() - observed) / (expected.sum() - expected)
        ratios = index / rest_index
        ratio_b = (boot_obs / boot_exp) / (
            (boot_obs.sum(axis=1, keepdims=True) - boot_obs)
            / (boot_exp.sum(axis=1, keepdims=True) - boot_exp)
        )
    out = []
    for j, name in enumerate(point.names):
        if persons[j] == 0:
            continue
        se = log_standard_error(ratio_b[:, j])
        low, high = ratio_interval(float(ratios[j]), se, config.alpha)
        out.append(
            Comparison(
                source=source,
                metric=metric,
                attribute=attribute,
                group=name,
                persons=int(persons[j]),
                rest_persons=int(persons.sum() - persons[j]),
                mean=float(observed[j] / persons[j]),
                adjusted=float(point.adjusted[j, m]),
                index=float(index[j]),
                rest_index=float(rest_index[j]),
                ratio=float(ratios[j]),
                standard_error=se,
                ci_low=low,
                ci_high=high,
                p_value=ratio_p_value(float(ratios[j]), se),
            )
        )
    # Fairlearn's between-group difference (max - min) and ratio (min / max) of the
    # need-adjusted means, with intervals from the same resamples
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted_b = boot_obs / boot_exp * scale
        highest, lowest = np.fmax.reduce(adjusted_b, axis=1), np.fmin.reduce(adjusted_b, axis=1)
        diff_b, between_b = highest - lowest, lowest / highest
    difference, between = float(point.difference[m]), float(point.ratio[m])
    summary = AttributeSummary(
        source,
        metric,
        attribute,
        int((persons > 0).sum()),
        difference,
        between,
        _interval(difference, _sd(diff_b), config.alpha),
        _interval(between, _sd(between_b), config.alpha),
    )
    return out, summary


def _stratum_rows(
    source: str, attribute: str, c: Cells, metrics: Sequence[str], config: AuditSettings
) -> pd.DataFrame:
    """Each group's mean within each job family × seniority stratum (the drill-down under
    the pooled comparison); cells under the minimum group size are left out."""
    parts = []
    for m, metric in enumerate(metrics):
        keep = c.persons[:, m] >= config.min_group_size
        parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "metric": metric,
                    "attribute": attribute,
                    "stratum": c.stratum[keep],
                    "group": c.group[keep],
                    "persons": c.persons[keep, m].astype(int),
                    "mean": c.observed[keep, m] / c.persons[keep, m],
                    "stratum_mean": c.expected[keep, m] / c.persons[keep, m],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


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
