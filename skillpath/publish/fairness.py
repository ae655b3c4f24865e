"""The fairness gate: the audit of ``ml.fairness`` on the candidate publication and on
the hold-out lists, its verdict, and its group-level results in ``audit.fairness_*``.

This module is the one reader of ``restricted.hr_sensitive_attributes`` (a test enforces
it): the attributes are joined to persons here, by person key, and leave only as group
figures. The results are stored per publication, so the compliance report, MLflow and
anyone with access to ``audit`` read the same figures the decision was taken on:

- ``audit.fairness_groups``: one row per source × metric × attribute × group (its size,
  what it received, need-adjusted, its ratio to the rest, interval, p-value and, for the
  blocking comparisons, the Holm-corrected interval and whether it blocks);
- ``audit.fairness_attributes``: one row per source × metric × attribute (Fairlearn's
  between-group difference and ratio with intervals) and one per attribute that could
  not be audited (with the reason);
- ``audit.fairness_strata``: each group's mean within each job family × seniority
  stratum, cells under the minimum group size left out;
- ``audit.fairness_mitigation`` and ``audit.fairness_mitigation_summary``: when
  ``fairness.mitigation`` is on, what the exposure re-ranking (``ml.mitigation``) did to
  the candidate before the gate judged it — each group's ratio before and after, the
  lists changed and the relevance kept.

Why one module of over 400 lines: it is the one reader of restricted data, a rule
tests/test_restricted_attributes.py checks file by file, so everything that touches the
attributes (loading, mitigation, the gate, storage) stays inside this one file.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from ml.evaluate import MODEL, VANILLA
from ml.fairness import (
    ATTRIBUTES,
    CANDIDATE,
    HOLDOUT,
    NOT_AUDITED,
    QUALITY,
    REFERENCE,
    SENSITIVE_COLUMNS,
    FairnessAudit,
    SourceInput,
    audit,
    check_settings,
    content_flags,
    list_figures,
    raw_attributes,
    reportable_groups,
    strata_labels,
)
from ml.mitigation import ExposureReranking, rerank_for_exposure
from skillpath.config import FairnessConfig
from skillpath.publish.gates import GateContext, GateResult
from skillpath.publish.tables import table_exists
from skillpath.warehouse import create_table_sql

SENSITIVE_TABLE = "restricted.hr_sensitive_attributes"

GROUP_COLUMNS = (
    ("publication_id", "varchar"),
    ("source", "varchar"),
    ("metric", "varchar"),
    ("attribute", "varchar"),
    ("group", "varchar"),
    ("persons", "bigint"),
    ("rest_persons", "bigint"),
    ("mean", "double"),
    ("adjusted", "double"),
    ("index", "double"),
    ("rest_index", "double"),
    ("ratio", "double"),
    ("standard_error", "double"),
    ("ci_low", "double"),
    ("ci_high", "double"),
    ("p_value", "double"),
    ("blocking", "boolean"),
    ("threshold", "double"),
    ("holm_p", "double"),
    ("holm_ci_low", "double"),
    ("holm_ci_high", "double"),
    ("beyond_threshold", "boolean"),
    ("excludes_parity", "boolean"),
    ("blocks", "boolean"),
)
ATTRIBUTE_COLUMNS = (
    ("publication_id", "varchar"),
    ("source", "varchar"),
    ("metric", "varchar"),
    ("attribute", "varchar"),
    ("groups", "bigint"),
    ("difference", "double"),
    ("difference_ci_low", "double"),
    ("difference_ci_high", "double"),
    ("ratio", "double"),
    ("ratio_ci_low", "double"),
    ("ratio_ci_high", "double"),
    ("not_stated", "bigint"),
    ("merged", "varchar"),
    ("suppressed", "varchar"),
    ("note", "varchar"),
)
STRATUM_COLUMNS = (
    ("publication_id", "varchar"),
    ("source", "varchar"),
    ("metric", "varchar"),
    ("attribute", "varchar"),
    ("stratum", "varchar"),
    ("group", "varchar"),
    ("persons", "bigint"),
    ("mean", "double"),
    ("stratum_mean", "double"),
)
MITIGATION_COLUMNS = (
    ("publication_id", "varchar"),
    ("metric", "varchar"),
    ("attribute", "varchar"),
    ("group", "varchar"),
    ("persons", "bigint"),
    ("index_before", "double"),
    ("index_after", "double"),
    ("ratio_before", "double"),
    ("ratio_after", "double"),
)
MITIGATION_SUMMARY_COLUMNS = (
    ("publication_id", "varchar"),
    ("persons", "bigint"),
    ("persons_movable", "bigint"),
    ("persons_changed", "bigint"),
    ("items_replaced", "bigint"),
    ("relevance_kept_mean", "double"),
    ("relevance_kept_min", "double"),
    ("max_relevance_loss", "double"),
)
FAIRNESS_TABLES = {
    ("audit", "fairness_groups"): GROUP_COLUMNS,
    ("audit", "fairness_attributes"): ATTRIBUTE_COLUMNS,
    ("audit", "fairness_strata"): STRATUM_COLUMNS,
    ("audit", "fairness_mitigation"): MITIGATION_COLUMNS,
    ("audit", "fairness_mitigation_summary"): MITIGATION_SUMMARY_COLUMNS,
}


def ensure_fairness_tables(con: duckdb.DuckDBPyConnection) -> None:
    for (schema, table), columns in FAIRNESS_TABLES.items():
        con.execute(create_table_sql(schema, table, columns))


# --- inputs ---------------------------------------------------------------------------


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A mart's columns (missing ones empty), or an empty frame when the marts stage has
    not built the mart: the audit then says what it could not compute."""
    schema, table = name.split(".")
    present = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }
    if not present:
        return pd.DataFrame(columns=list(columns))
    chosen = [c for c in columns if c in present]
    frame = con.execute(f"select {', '.join(chosen)} from {name} order by all").df()
    for column in columns:
        if column not in frame:
            frame[column] = pd.NA
    return frame[list(columns)]


def load_people(con: duckdb.DuckDBPyConnection, advanced_level: int) -> pd.DataFrame:
    """Everyone the candidate may list, with what the audit compares them by: job family
    × seniority (need) and whether their role requires level ``advanced_level``+ in a
    skill."""
    people = _table(
        con,
        "marts.dim_employee",
        ("person_key", "job_family", "seniority_level", "location", "employment_type", "opted_out"),
    )
    gaps = _table(con, "marts.mart_skill_gaps", ("person_key", "required_level"))
    needs = gaps.groupby("person_key")["required_level"].max().ge(advanced_level)
    people["opted_out"] = people["opted_out"].fillna(False).astype(bool)
    people["needs_advanced"] = people["person_key"].map(needs).fillna(False).astype(bool)
    return people


def load_sensitive(con: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame | None, str | None]:
    """The sensitive attributes, or None with the reason the audit cannot use them."""
    schema, table = SENSITIVE_TABLE.split(".")
    if not table_exists(con, schema, table):
        return None, "no sensitive-attribute data (hr/sensitive_attributes.csv)"
    columns = ", ".join(SENSITIVE_COLUMNS)
    frame = con.execute(f"select person_key, {columns} from {SENSITIVE_TABLE}").df()
    if frame.empty:
        return None, "no sensitive-attribute data (hr/sensitive_attributes.csv)"
    return frame, None


def _content(con: duckdb.DuckDBPyConnection, config: FairnessConfig):
    content = _table(con, "marts.dim_content", ("content_id", "level"))
    taught = _table(con, "marts.bridge_content_skill", ("content_id", "skill_id"))
    skills = _table(con, "marts.dim_skill", ("skill_id", "category"))
    return content_flags(content, taught, skills, config)


def candidate_lists(con: duckdb.DuckDBPyConnection, publication_id: str) -> pd.DataFrame:
    return con.execute(
        """select person_key, rank, content_id, personalised from published.recommendations
           where publication_id = ? order by person_key, rank""",
        [publication_id],
    ).df()


def _holdout_frames(evaluation: Any) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``per_person`` and ``lists`` of the hold-out evaluation the gate judges: on the
    evaluation itself or on its ``gate`` protocol (``ml.evaluate``), also when wrapped in
    the outcome the pipeline passes on (``.evaluation``)."""
    inner = getattr(evaluation, "evaluation", None)
    holders = (evaluation, getattr(evaluation, "gate", None), inner, getattr(inner, "gate", None))
    for holder in holders:
        per_person = getattr(holder, "per_person", None)
        lists = getattr(holder, "lists", None)
        if isinstance(per_person, pd.DataFrame) and isinstance(lists, pd.DataFrame):
            return per_person, lists
    return None


def holdout_source(
    evaluation: Any, flags: pd.DataFrame, approach: str = MODEL, name: str = HOLDOUT
) -> SourceInput | None:
    """The hold-out's published-stage lists of ``approach``: quality per person and the
    same exposure figures as the candidate's, or None when the evaluation carries none."""
    frames = _holdout_frames(evaluation)
    if frames is None or frames[0].empty or frames[1].empty:
        return None
    per_person, lists = frames
    if "approach" in per_person:
        per_person = per_person[per_person["approach"] == approach]
    if "approach" in lists:
        lists = lists[lists["approach"] == approach]
    if per_person.empty or lists.empty:
        return None
    quality = per_person[["person_key", *[q for q in QUALITY if q in per_person]]]
    exposure = list_figures(lists, flags).drop(columns="personalised")
    figures = quality.merge(exposure, on="person_key", how="left")
    figures["person_key"] = figures["person_key"].astype(str)
    return SourceInput(name, figures)


# --- mitigation -----------------------------------------------------------------------


def mitigate(
    con: duckdb.DuckDBPyConnection,
    pool: pd.DataFrame,
    config: FairnessConfig,
    k: int,
    reference_year: int | None = None,
) -> ExposureReranking:
    """The candidate re-ranked for exposure (``ml.mitigation``) before the gate judges it.
    The groups are formed here as the audit forms them (small groups merged or
    suppressed, not stated left out) on the blocking attributes, and handed to the pure
    re-ranking as labels only. ``pool``: the ranking's lists, longer than ``k`` where it
    is to have a choice."""
    flags = _content(con, config)
    people = load_people(con, config.advanced_level)
    people = people[people["person_key"].isin(pool["person_key"])].reset_index(drop=True)
    sensitive, _ = load_sensitive(con)
    year = reference_year or datetime.now(UTC).year
    attributes = raw_attributes(people, sensitive, config, year)
    labels = {}
    for attribute in config.blocking_attributes:
        groups = reportable_groups(attribute, attributes[attribute], config)
        if groups.audited:
            labels[attribute] = groups.labels
    strata = pd.Series(strata_labels(people).to_numpy(), index=attributes.index)
    return rerank_for_exposure(
        pool,
        flags.flags,
        pd.DataFrame(labels, index=attributes.index),
        strata,
        k,
        config.mitigation_max_relevance_loss,
    )


def store_mitigation(
    con: duckdb.DuckDBPyConnection, publication_id: str, result: ExposureReranking
) -> None:
    """What the re-ranking did, beside the audit of what it produced."""
    ensure_fairness_tables(con)
    _replace_rows(con, publication_id, "fairness_mitigation", result.disparity)
    summary = pd.DataFrame([result.figures])
    _replace_rows(con, publication_id, "fairness_mitigation_summary", summary)


def mitigation_summary(con: duckdb.DuckDBPyConnection, publication_id: str) -> dict | None:
    """The stored summary of the publication's re-ranking, or None when it was not
    re-ranked."""
    if not table_exists(con, "audit", "fairness_mitigation_summary"):
        return None
    frame = con.execute(
        "select * exclude (publication_id) from audit.fairness_mitigation_summary "
        "where publication_id = ?",
        [publication_id],
    ).df()
    if frame.empty:
        return None
    row = frame.iloc[0]
    return {
        name: int(row[name]) if kind == "bigint" else float(row[name])
        for name, kind in MITIGATION_SUMMARY_COLUMNS[1:]
    }


# --- the gate -------------------------------------------------------------------------


@dataclass(frozen=True)
class FairnessGate:
    """Blocks a publication whose lists give a group measurably less than comparable
    colleagues on a blocking metric (``ml.fairness.decide``); says "not audited" — never
    "passed" — when no gender, age or disability data could be audited."""

    config: FairnessConfig
    name: str = "fairness"

    def __post_init__(self) -> None:
        check_settings(self.config)

    def evaluate(self, context: GateContext) -> GateResult:
        con = context.con
        result = run_audit(con, context.publication_id, context.model_evaluation, self.config)
        store_audit(con, context.publication_id, result)
        passed = result.status != "failed" and not (
            result.status == NOT_AUDITED and self.config.block_when_not_audited
        )
        figures, message = headline(result), result.message
        mitigated = mitigation_summary(con, context.publication_id)
        if mitigated is not None:
            figures["mitigation"] = mitigated
            message += (
                f" (after exposure re-ranking: {mitigated['persons_changed']} of "
                f"{mitigated['persons']} lists changed, at least "
                f"{mitigated['relevance_kept_min']:.1%} of each list's relevance kept)"
            )
        return GateResult(self.name, passed, result.status, message, figures)


def run_audit(
    con: duckdb.DuckDBPyConnection,
    publication_id: str,
    model_evaluation: Any,
    config: FairnessConfig,
    reference_year: int | None = None,
) -> FairnessAudit:
    """The audit of a candidate publication (its rows in ``published.recommendations``)."""
    lists = candidate_lists(con, publication_id)
    return audit_lists(con, lists, model_evaluation, config, reference_year)


def audit_lists(
    con: duckdb.DuckDBPyConnection,
    lists: pd.DataFrame,
    model_evaluation: Any,
    config: FairnessConfig,
    reference_year: int | None = None,
) -> FairnessAudit:
    """The audit of candidate ``lists`` (person_key, rank, content_id, personalised) against
    the warehouse's people, sensitive attributes and content, and the hold-out lists of
    ``model_evaluation`` where it carries them."""
    flags = _content(con, config)
    people = load_people(con, config.advanced_level)
    sensitive, sensitive_note = load_sensitive(con)
    notes: dict[str, str] = {}
    if flags.leadership_note:
        for metric in ("exposure_leadership", "exposure_leadership_need"):
            notes[metric] = flags.leadership_note
    if not people["needs_advanced"].any():
        for metric in ("exposure_advanced_need", "exposure_leadership_need"):
            notes.setdefault(metric, "not computed: no role requires level 4 or more in a skill")
    sources = [SourceInput(CANDIDATE, list_figures(lists, flags.flags))]
    holdout = holdout_source(model_evaluation, flags.flags)
    if holdout is None:
        notes["holdout"] = "the model evaluation carries no hold-out lists"
    else:
        sources.append(holdout)
    reference = holdout_source(model_evaluation, flags.flags, VANILLA, REFERENCE)
    if reference is None:
        notes[REFERENCE] = (
            "not computed: the model evaluation has no vanilla LightFM lists "
            "(evaluation.vanilla_seeds is empty, or there was no evaluation)"
        )
    else:
        sources.append(reference)
    year = reference_year or datetime.now(UTC).year
    return audit(people, sensitive, sources, config, year, notes, sensitive_note)


def headline(result: FairnessAudit) -> dict[str, Any]:
    """The few figures ``skillpath status`` and the summary show; the tables are in
    ``audit.fairness_*`` and the report."""
    blocking = [c for c in result.comparisons if c.blocking]
    audited = sorted(
        {a for groups in result.groups.values() for a, g in groups.items() if g.audited}
    )
    figures: dict[str, Any] = {
        "persons": result.persons,
        "audited_attributes": audited,
        "blocking_comparisons": len(blocking),
        "blocked_by": len(result.failures),
    }
    if blocking:
        lowest = min(blocking, key=lambda c: c.ratio if math.isfinite(c.ratio) else math.inf)
        figures["lowest_ratio"] = (
            f"{lowest.source} {lowest.metric} {lowest.attribute}={lowest.group}: "
            f"{lowest.ratio:.2f} ({lowest.ci_low:.2f}–{lowest.ci_high:.2f})"
        )
    return figures


def store_audit(con: duckdb.DuckDBPyConnection, publication_id: str, result: FairnessAudit) -> None:
    """Replace the publication's rows in ``audit.fairness_*`` with this audit's."""
    ensure_fairness_tables(con)
    for table, frame in (
        ("fairness_groups", result.group_table()),
        ("fairness_attributes", _attribute_rows(result)),
        ("fairness_strata", result.stratum_table),
    ):
        _replace_rows(con, publication_id, table, frame)


def _replace_rows(
    con: duckdb.DuckDBPyConnection, publication_id: str, table: str, frame: pd.DataFrame
) -> None:
    columns = FAIRNESS_TABLES[("audit", table)]
    con.execute(f"delete from audit.{table} where publication_id = ?", [publication_id])
    if frame.empty:
        return
    frame = frame.assign(publication_id=publication_id)[[name for name, _ in columns]]
    con.register("_fairness_rows", frame)
    try:
        con.execute(f"insert into audit.{table} by name select * from _fairness_rows")
    finally:
        con.unregister("_fairness_rows")


def _attribute_rows(result: FairnessAudit) -> pd.DataFrame:
    rows = []
    by_key = {(s.source, s.attribute): [] for s in result.summaries}
    for s in result.summaries:
        by_key[(s.source, s.attribute)].append(s)
    for source, groups in result.groups.items():
        for attribute in ATTRIBUTES:
            g = groups[attribute]
            common = {
                "source": source,
                "attribute": attribute,
                "not_stated": g.not_stated,
                "merged": json.dumps(list(g.merged)),
                "suppressed": json.dumps(list(g.suppressed)),
                "note": g.note,
            }
            summaries = by_key.get((source, attribute), [])
            if not summaries:
                rows.append({**common, "metric": None, "groups": len(g.groups)})
            for s in summaries:
                rows.append(
                    {
                        **common,
                        "metric": s.metric,
                        "groups": s.groups,
                        "difference": s.difference,
                        "difference_ci_low": s.difference_ci[0],
                        "difference_ci_high": s.difference_ci[1],
                        "ratio": s.ratio,
                        "ratio_ci_low": s.ratio_ci[0],
                        "ratio_ci_high": s.ratio_ci[1],
                    }
                )
    for metric, note in result.notes.items():
        rows.append({"source": None, "attribute": None, "metric": metric, "note": note})
    frame = pd.DataFrame(rows)
    for name, _ in ATTRIBUTE_COLUMNS:
        if name not in frame:
            frame[name] = None
    return frame


def fairness_tables(con: duckdb.DuckDBPyConnection, publication_id: str) -> dict[str, pd.DataFrame]:
    """The stored audit of one publication (empty frames when it has none)."""
    out = {}
    for (schema, table), columns in FAIRNESS_TABLES.items():
        if table_exists(con, schema, table):
            out[table] = con.execute(
                f"select * from {schema}.{table} where publication_id = ?", [publication_id]
            ).df()
        else:
            out[table] = pd.DataFrame(columns=[name for name, _ in columns])
    return out


def mitigation_metrics(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Before/after of the exposure re-ranking, when there was one: the between-group
    ratio (lowest need-adjusted index / highest) of the lists before it as
    ``fairness.unmitigated.<metric>.<attribute>.ratio`` — beside the audit's
    ``fairness.candidate.…`` of the lists after it — and
    ``fairness.mitigation.<figure>``."""
    out: dict[str, float] = {}
    before = tables.get("fairness_mitigation", pd.DataFrame())
    for (metric, attribute), rows in before.groupby(["metric", "attribute"]) if len(before) else []:
        index = rows["index_before"].astype(float)
        out[f"fairness.unmitigated.{metric}.{attribute}.ratio"] = float(index.min() / index.max())
    summary = tables.get("fairness_mitigation_summary", pd.DataFrame())
    if len(summary):
        row = summary.iloc[0]
        for name, _ in MITIGATION_SUMMARY_COLUMNS[1:]:
            out[f"fairness.mitigation.{name}"] = float(row[name])
    return {k: v for k, v in out.items() if math.isfinite(v)}


def mlflow_metrics(attributes: pd.DataFrame, groups: pd.DataFrame) -> dict[str, float]:
    """``fairness.<source>.<metric>.<attribute>.{ratio,difference}`` and the decision's
    counts, from the stored tables."""
    out: dict[str, float] = {}
    rows = attributes.dropna(subset=["metric", "attribute", "ratio"])
    for r in rows.itertuples():
        base = f"fairness.{r.source}.{r.metric}.{r.attribute}"
        out[f"{base}.ratio"] = float(r.ratio)
        out[f"{base}.difference"] = float(r.difference)
    if not groups.empty:
        out["fairness.blocking_comparisons"] = float(groups["blocking"].fillna(False).sum())
        out["fairness.blocked_by"] = float(groups["blocks"].fillna(False).sum())
    return {k: v for k, v in out.items() if math.isfinite(v)}
