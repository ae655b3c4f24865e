"""The audit itself: per source, every attribute's groups compared with the rest,
Fairlearn's between-group summaries, then the decision (``ml.fairness.decision``)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from fairlearn.metrics import MetricFrame

from ml.fairness.comparison import (
    AttributeSummary,
    Comparison,
    _interval,
    _sd,
    log_standard_error,
    ratio_interval,
    ratio_p_value,
)
from ml.fairness.decision import decide, verdict
from ml.fairness.groups import AttributeGroups, raw_attributes, reportable_groups
from ml.fairness.metrics import (
    ATTRIBUTES,
    CANDIDATE,
    EXPOSURE,
    FROM_SENSITIVE,
    NEED_EXPOSURE,
    SOURCE_METRICS,
    STRATA,
    AuditSettings,
)
from ml.fairness.statistics import Cells, bootstrap, cells, group_frame, stratum_expectation


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
    if set(NEED_EXPOSURE) & set(SOURCE_METRICS[source.name]) and set(EXPOSURE) <= set(frame):
        need = frame.get("needs_advanced", pd.Series(False, index=frame.index)).fillna(False)
        for metric, needed in zip(EXPOSURE, NEED_EXPOSURE, strict=True):
            frame[needed] = frame[metric].where(need.astype(bool))
    if source.name == CANDIDATE:
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
