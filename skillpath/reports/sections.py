"""What each section of the compliance report shows: one context function per section,
returning the values its template (``templates/sections/<name>.html.j2``) renders, or
None to leave the section out. Group-level figures only; every figure goes out with the
sentence that says what it means.

Why one module of over 400 lines: one short function per section of the compliance
report, each beside its siblings in the report's order, is easier to check against the
rendered report than one file per section.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from ml.fairness import ATTRIBUTES, CANDIDATE, EXPOSURE, METRICS, REFERENCE
from skillpath.publish.fairness import fairness_tables
from skillpath.publish.gates import STATUS_LABELS
from skillpath.publish.tables import table_exists
from skillpath.reports.charts import ratio_chart

if TYPE_CHECKING:
    from skillpath.config import Config
    from skillpath.publish.report import PublicationSummary


@dataclass(frozen=True)
class ReportInputs:
    """Everything a section may read: the publication's summary, a read-only connection
    to the warehouse, and the configuration that applied."""

    summary: PublicationSummary
    con: duckdb.DuckDBPyConnection
    config: Config


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def fmt(value: Any, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --- gates ----------------------------------------------------------------------------

GATE_TEXT = {
    "data_quality": "Were the exports loaded cleanly? Blocks when too many rows had to be "
    "set aside or a blocking data check failed.",
    "model_quality": "Does the model beat the simple alternatives (what is popular, what "
    "is popular in the role, content matched to skill gaps)? Blocks when it does not.",
    "fairness": "Do groups (gender, age, disability, employment type) get less of what "
    "matters than comparable colleagues? Blocks only when a difference is both larger than "
    "its threshold and larger than chance.",
}
FIGURE_TEXT = {
    "files": "export files ingested",
    "files_rejected": "files rejected as a whole (see data quality below)",
    "rows_in": "rows received in all exports",
    "rows_quarantined": "rows set aside with a reason instead of being loaded",
    "quarantine_share": "share of rows set aside",
    "max_quarantine_share": "the share above which the gate blocks",
    "failed_blocking_expectations": "data checks that failed and block",
    "persons": "persons whose lists were audited, per source",
    "audited_attributes": "attributes with at least two groups large enough to compare",
    "blocking_comparisons": "group comparisons that could block (pre-declared list)",
    "blocked_by": "comparisons that block this publication",
    "lowest_ratio": "the lowest ratio among the blocking comparisons, with its interval",
    "fallback": "no model: everyone got the role path",
    "protocol": "the hold-out the decision used (per_person: each person's latest completions "
    "held back; global_time: the latest weeks of everyone's)",
    "persons_too_few_positives": "persons left out of the hold-out: too few completions to judge",
    "mandatory_items": "items the catalogue marks as mandatory: never recommended, never a hit",
    "mandatory_holdout_positives": "held-back completions of mandatory items, not counted",
    "validation_fallback": "why validation could not choose training settings (empty: it could)",
    "publication.items_recommendable": "items that could be recommended (active, not mandatory)",
    "publication.items_shown": "items in at least one list of this publication",
    "publication.reachable_coverage": "the most of the catalogue all lists' places could hold",
    "publication.catalogue_coverage": "share of the recommendable items shown to someone",
    "publication.exposure_gini": "how unevenly lists spread over items (0: evenly, 1: one item)",
}
DECISION_TEXT = {
    "baseline": "the better popularity baseline the model's lists are compared with",
    "baseline_value": "that baseline's figure, its lists through the same ranking rules",
    "difference": "the model's figure minus the baseline's",
    "low": "lower end of the bootstrap interval of that difference",
    "high": "upper end of that interval",
    "verdict": "ok, below (within chance) or worse (blocks)",
}
METRIC_NAMES = {
    "ndcg_at_10": "NDCG@10",
    "precision_at_10": "precision@10",
    "gap_coverage": "gap coverage",
    "catalogue_coverage": "catalogue coverage",
}


# figures whose name means something else in one gate
GATE_FIGURE_TEXT = {
    ("model_quality", "persons"): "persons in the hold-out whose lists were scored",
}


def figure_meaning(key: str, gate: str = "") -> str:
    """One plain line per gate figure: listed ones, the decision's and the evaluation's
    (``<protocol>.<stage>.<approach>.<metric>``) by their parts."""
    if (gate, key) in GATE_FIGURE_TEXT:
        return GATE_FIGURE_TEXT[(gate, key)]
    if key in FIGURE_TEXT:
        return FIGURE_TEXT[key]
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "decision":
        return f"{METRIC_NAMES.get(parts[1], parts[1])}: {DECISION_TEXT.get(parts[2], parts[2])}"
    if _per_approach(key):
        protocol, stage, approach, metric = parts
        lists = "published lists" if stage == "published" else "top 10 before the ranking rules"
        return (
            f"{METRIC_NAMES.get(metric, metric)} of {approach.replace('_', ' ')}: its {lists},"
            f" {protocol.replace('_', '-')} hold-out"
        )
    return ""


def _per_approach(key: str) -> bool:
    """``<protocol>.<stage>.<approach>.<metric>``: one approach's evaluation figure."""
    parts = key.split(".")
    return len(parts) == 4 and parts[1] in ("raw", "published")


def gates(inputs: ReportInputs) -> dict:
    """Each gate with its figures: the ones its decision reads first, the evaluation's
    per-approach figures (also in the model section) folded away."""
    out = []
    for g in inputs.summary.gates:
        figures = [
            {
                "name": key,
                "value": json.dumps(value, default=str) if not isinstance(value, str) else value,
                "meaning": figure_meaning(key, g.name),
                "detail": _per_approach(key),
            }
            for key, value in g.figures.items()
        ]
        out.append(
            {
                "name": g.name,
                "status": g.status,
                "label": STATUS_LABELS.get(g.status, g.status),
                "blocks": not g.passed,
                "message": g.message,
                "what": GATE_TEXT.get(g.name, ""),
                "figures": [f for f in figures if not f["detail"]],
                "details": [f for f in figures if f["detail"]],
            }
        )
    return {"gates": out}


# --- data quality ---------------------------------------------------------------------


def data_quality(inputs: ReportInputs) -> dict | None:
    con = inputs.con
    if not table_exists(con, "audit", "ingest_log"):
        return None
    columns = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'audit' and table_name = 'ingest_log'"
        ).fetchall()
    }
    erased = "sum(rows_erased)" if "rows_erased" in columns else "0"
    sources = _rows(
        con,
        f"""select source, count(distinct file) as files, sum(rows_in) as rows_in,
                   sum(rows_loaded) as loaded, sum(rows_quarantined) as quarantined,
                   sum(rows_duplicate) as duplicate, {erased} as erased,
                   count(*) filter (where status = 'failed') as failed_files
            from audit.ingest_log group by source order by source""",
    )
    reasons = (
        _rows(
            con,
            """select source, reason_code, count(*) as n from audit.quarantine
               group by source, reason_code order by source, n desc, reason_code""",
        )
        if table_exists(con, "audit", "quarantine")
        else pd.DataFrame(columns=["source", "reason_code", "n"])
    )
    checks = (
        _rows(
            con,
            """with latest as (select table_name, max(run_at) as run_at
                               from audit.validation_results group by table_name)
               select v.table_name, count(*) as expectations,
                      count(*) filter (where not coalesce(v.success, false)) as failed,
                      string_agg(v.expectation, ', ') filter (where not coalesce(v.success, false))
                          as failed_names
               from audit.validation_results v join latest using (table_name, run_at)
               group by v.table_name order by v.table_name""",
        )
        if table_exists(con, "audit", "validation_results")
        else pd.DataFrame(columns=["table_name", "expectations", "failed", "failed_names"])
    )
    rows = []
    for s in sources.itertuples():
        top = reasons[reasons["source"] == s.source].head(3)
        rows.append(
            {
                "source": s.source,
                "files": int(s.files),
                "rows_in": int(s.rows_in),
                "loaded": int(s.loaded),
                "quarantined": int(s.quarantined),
                "duplicate": int(s.duplicate),
                "erased": int(s.erased or 0),
                "failed_files": int(s.failed_files),
                "reasons": ", ".join(f"{r.reason_code} ({r.n})" for r in top.itertuples()),
                "balanced": int(s.rows_in)
                == int(s.loaded) + int(s.quarantined) + int(s.duplicate) + int(s.erased or 0),
            }
        )
    return {
        "sources": rows,
        "checks": [
            {
                "table": c.table_name,
                "expectations": int(c.expectations),
                "failed": int(c.failed),
                "failed_names": c.failed_names or "",
            }
            for c in checks.itertuples()
        ],
    }


# --- model ----------------------------------------------------------------------------

METRIC_TEXT = {
    "ndcg_at_10": "NDCG@10: how high up the 10 items a person later completed were (1 = at "
    "the very top, 0 = not in the list)",
    "precision_at_10": "precision@10: share of the 10 items the person later completed",
    "gap_coverage": "gap coverage: share of items that teach a skill the person lacks for "
    "their role",
}


def model(inputs: ReportInputs) -> dict | None:
    """The model beside each baseline, from the model-quality gate's figures
    (``<approach>.<metric>``): the same hold-out, the same persons."""
    gate = next((g for g in inputs.summary.gates if g.name == "model_quality"), None)
    if gate is None:
        return None
    table: dict[str, dict[str, float]] = {}
    for key, value in gate.figures.items():
        approach, _, metric = key.rpartition(".")
        if approach and isinstance(value, int | float):
            table.setdefault(approach, {})[metric] = float(value)
    if not table:
        return {"approaches": [], "metrics": [], "fallback": inputs.summary.fallback_reason}
    metrics = sorted({m for values in table.values() for m in values})
    return {
        "approaches": [
            {"name": name, "values": [fmt(values.get(m), 4) for m in metrics]}
            for name, values in table.items()
        ],
        "metrics": [{"name": m, "meaning": METRIC_TEXT.get(m, "")} for m in metrics],
        "fallback": inputs.summary.fallback_reason,
    }


# --- fairness -------------------------------------------------------------------------

ATTRIBUTE_TEXT = {
    "gender": "gender as stated in the HR export",
    "age_band": "age band, from the year of birth",
    "disability": "disability as stated in the HR export",
    "location": "office location",
    "employment_type": "full-time or part-time",
    "gender_x_age_band": "gender and age band together",
}


def _interval(low: Any, high: Any) -> str:
    return f"{fmt(low)}–{fmt(high)}"


def _group_rows(rows: pd.DataFrame, config: Config) -> list[dict]:
    out = []
    for r in rows.sort_values(["source", "metric", "group"]).itertuples():
        holm = r.holm_ci_low is not None and not pd.isna(r.holm_ci_low)
        low, high = (r.holm_ci_low, r.holm_ci_high) if holm else (r.ci_low, r.ci_high)
        if r.blocks:
            verdict = "blocks: below its threshold and beyond chance"
        elif r.blocking and r.beyond_threshold:
            verdict = "below its threshold, but within chance: does not block"
        elif r.blocking:
            verdict = "can block; does not"
        else:
            verdict = "reported only"
        out.append(
            {
                "source": r.source,
                "metric": r.metric,
                "meaning": METRICS.get(r.metric, ("", ""))[1],
                "group": r.group,
                "persons": int(r.persons),
                "mean": fmt(r.mean, 3),
                "adjusted": fmt(r.adjusted, 3),
                "ratio": fmt(r.ratio),
                "interval": _interval(low, high),
                "interval_kind": "Holm-corrected" if holm else f"{1 - config.fairness.alpha:.0%}",
                "threshold": fmt(r.threshold),
                "blocking": bool(r.blocking),
                "blocks": bool(r.blocks),
                "verdict": verdict,
                "sentence": (
                    f"{r.group} ({int(r.persons)} persons) received {fmt(r.ratio)} times what "
                    f"comparable colleagues received"
                ),
            }
        )
    return out


def fairness(inputs: ReportInputs) -> dict | None:
    tables = fairness_tables(inputs.con, inputs.summary.publication_id)
    groups, attributes = tables["fairness_groups"], tables["fairness_attributes"]
    gate = next((g for g in inputs.summary.gates if g.name == "fairness"), None)
    if gate is None:
        return None
    config = inputs.config.fairness
    blocking_panels = [tuple(m.split(".", 1)) for m in config.blocking_metrics]
    sections = []
    for attribute in ATTRIBUTES:
        rows = groups[groups["attribute"] == attribute]
        declared = (rows["source"] + "." + rows["metric"]).isin(config.blocking_metrics)
        info = attributes[(attributes["attribute"] == attribute)]
        candidate_info = info[info["source"] == "candidate"]
        note = next((n for n in candidate_info["note"].dropna()), None)
        first = candidate_info.iloc[0] if len(candidate_info) else None
        sections.append(
            {
                "name": attribute,
                "what": ATTRIBUTE_TEXT.get(attribute, attribute),
                "blocking": attribute in config.blocking_attributes,
                "note": note,
                "not_stated": int(first["not_stated"]) if first is not None else None,
                "merged": json.loads(first["merged"]) if first is not None else [],
                "suppressed": json.loads(first["suppressed"]) if first is not None else [],
                "chart": ratio_chart(rows, blocking_panels, attribute) if len(rows) else None,
                "key_rows": _group_rows(rows[declared], inputs.config),
                "all_rows": _group_rows(rows, inputs.config),
            }
        )
    notes = attributes[attributes["attribute"].isna() & attributes["note"].notna()]
    return {
        "history": _history(groups, attributes, config),
        "mitigation": _mitigation(tables, config),
        "status": gate.status,
        "label": STATUS_LABELS.get(gate.status, gate.status),
        "message": gate.message,
        "attributes": sections,
        "notes": [{"metric": n.metric, "note": n.note} for n in notes.itertuples()],
        "config": config,
        "thresholds": [
            (metric, value, METRICS.get(metric, ("", ""))[1])
            for metric, value in sorted(config.min_ratio.items())
        ],
        "blocking_metrics": list(config.blocking_metrics),
    }


def _history(groups: pd.DataFrame, attributes: pd.DataFrame, config: Any) -> dict:
    """Whether the history is steered: the groups to which a recommender that learns only
    from the history (the ``reference`` source) gives less advanced or leadership content
    than comparable colleagues — below the metric's threshold, its interval excluding
    parity — with what the candidate gives the same group beside it. Never a verdict:
    it says whether the lists repeat a steering the history holds."""
    note = attributes.loc[attributes["metric"] == REFERENCE, "note"].dropna()
    reference = groups[
        (groups["source"] == REFERENCE)
        & groups["metric"].isin(EXPOSURE)
        & groups["attribute"].isin(config.blocking_attributes)
    ]
    if reference.empty:
        return {"computed": False, "note": note.iloc[0] if len(note) else None}
    candidate = groups[groups["source"] == CANDIDATE].set_index(["metric", "attribute", "group"])
    steered = []
    for r in reference.sort_values(["attribute", "metric", "group"]).itertuples():
        threshold = config.min_ratio.get(r.metric)
        if threshold is None or not (r.ratio < threshold and r.ci_high < 1):
            continue
        now = (
            candidate.loc[(r.metric, r.attribute, r.group)]
            if ((r.metric, r.attribute, r.group) in candidate.index)
            else None
        )
        steered.append(
            {
                "attribute": r.attribute.replace("_", " "),
                "group": r.group,
                "what": METRICS[r.metric][1],
                "reference": fmt(r.ratio),
                "reference_interval": _interval(r.ci_low, r.ci_high),
                "candidate": fmt(now["ratio"]) if now is not None else "–",
                "candidate_interval": (
                    _interval(now["ci_low"], now["ci_high"]) if now is not None else "–"
                ),
                "repeated": now is not None and bool(now["ratio"] < threshold),
            }
        )
    return {"computed": True, "steered": steered, "persons": int(reference["persons"].max())}


def _mitigation(tables: dict[str, pd.DataFrame], config: Any) -> dict:
    """Whether the exposure re-ranking was on and, if it ran, what it did: each group's
    ratio to comparable colleagues before it and after it, and the relevance kept."""
    summary = tables["fairness_mitigation_summary"]
    rows = tables["fairness_mitigation"]
    if summary.empty:
        return {"ran": False, "on": config.mitigation}
    s = summary.iloc[0]
    return {
        "ran": True,
        "on": config.mitigation,
        "persons": int(s["persons"]),
        "changed": int(s["persons_changed"]),
        "movable": int(s["persons_movable"]),
        "replaced": int(s["items_replaced"]),
        "kept_mean": f"{s['relevance_kept_mean']:.1%}",
        "kept_min": f"{s['relevance_kept_min']:.1%}",
        "bound": f"{s['max_relevance_loss']:.0%}",
        "rows": [
            {
                "metric": r.metric,
                "attribute": r.attribute,
                "group": r.group,
                "persons": int(r.persons),
                "before": fmt(r.ratio_before),
                "after": fmt(r.ratio_after),
            }
            for r in rows.sort_values(["metric", "attribute", "group"]).itertuples()
        ],
    }


# --- opt-outs and erasures ------------------------------------------------------------


def privacy(inputs: ReportInputs) -> dict:
    con = inputs.con
    opted_out = (
        con.execute(
            "select count(*) filter (where opted_out), count(*) from marts.dim_employee"
        ).fetchone()
        if table_exists(con, "marts", "dim_employee")
        else (None, None)
    )
    role_path = con.execute(
        """select count(distinct person_key) filter (where not personalised)
           from published.recommendations where publication_id = ?""",
        [inputs.summary.publication_id],
    ).fetchone()[0]
    # persons erased (a request may name many), not requests; suppressions of persons
    # never delivered are not erasures
    erasures = (
        con.execute(
            """select coalesce(sum(persons_erased), 0), max(requested_at)::date
               from audit.erasures where kind = 'erasure'"""
        ).fetchone()
        if table_exists(con, "audit", "erasures")
        else (0, None)
    )
    return {
        "opted_out": opted_out[0],
        "employees": opted_out[1],
        "role_path": role_path,
        "persons": inputs.summary.persons,
        "erasures": erasures[0],
        "last_erasure": erasures[1],
    }


# --- what is recommended --------------------------------------------------------------


def content(inputs: ReportInputs) -> dict | None:
    """The items recommended to most persons: what the publication pushes. Items shown to
    fewer persons than the minimum group size are not listed."""
    con = inputs.con
    title = "c.title" if table_exists(con, "marts", "dim_content") else "null"
    join = "left join marts.dim_content c using (content_id)" if title != "null" else ""
    top = _rows(
        con,
        f"""select r.content_id, any_value({title}) as title,
                   count(distinct r.person_key) as persons
            from published.recommendations r {join}
            where r.publication_id = ?
            group by r.content_id having count(distinct r.person_key) >= ?
            order by persons desc, r.content_id limit 10""",
        [inputs.summary.publication_id, inputs.config.fairness.min_group_size],
    )
    if top.empty:
        return None
    return {
        "items": [
            {"title": t.title or t.content_id, "persons": int(t.persons)} for t in top.itertuples()
        ],
        "minimum": inputs.config.fairness.min_group_size,
    }


# --- model version and run ------------------------------------------------------------


def provenance(inputs: ReportInputs) -> dict:
    s = inputs.summary
    return {
        "model_version": s.model_version,
        "fallback": s.fallback_reason,
        "mlflow_run_id": s.mlflow_run_id,
        "pipeline_run_id": s.run_id,
        "champion": s.champion,
    }
