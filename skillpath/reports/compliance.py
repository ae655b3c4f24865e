"""The compliance report of a publication — the one document a works council, a DPO or a
reviewer reads to see why a set of recommendations went live or was stopped — and the
index of all publications.

``<SKILLPATH_REPORTS_DIR>/<publication_id>/index.html`` and
``<SKILLPATH_REPORTS_DIR>/index.html``: Jinja2 templates with autoescaping (a course
title or a location may contain markup; it is shown, never interpreted), charts as PNG
data URIs, no JavaScript, nothing fetched at view time, group-level figures only.

Adding a section: write ``templates/sections/<name>.html.j2`` (it receives the values
as ``s``), a context function ``(ReportInputs) -> dict | None`` in
``skillpath/reports/sections.py`` (None leaves the section out), and one ``Section`` line
in ``SECTIONS`` below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from skillpath.config import RetentionConfig
from skillpath.publish.champion import record_in_mlflow
from skillpath.publish.gates import ATTENTION
from skillpath.publish.report import REPORT_NAME, SUMMARY_NAME, PublicationSummary, report_path
from skillpath.publish.tables import BLOCKED, PUBLISHED, table_exists
from skillpath.reports import sections
from skillpath.reports.render import render as render_template
from skillpath.reports.sections import ReportInputs
from skillpath.settings import Settings
from skillpath.warehouse import connect


@dataclass(frozen=True)
class Section:
    name: str  # templates/sections/<name>.html.j2
    title: str
    context: Callable[[ReportInputs], dict | None]


SECTIONS: list[Section] = [
    Section("gates", "The gates", sections.gates),
    Section("data_quality", "Data quality, per source", sections.data_quality),
    Section("model", "The model beside the simple alternatives", sections.model),
    Section("fairness", "Fairness audit", sections.fairness),
    Section("privacy", "Opt-outs and erasures", sections.privacy),
    Section("content", "What is recommended most", sections.content),
    Section("provenance", "Model version and runs", sections.provenance),
]


def verdict(inputs: ReportInputs) -> str:
    """The decision in one sentence."""
    s = inputs.summary
    attention = [g.name for g in s.gates if g.status in ATTENTION and g.passed]
    if s.status == PUBLISHED:
        sentence = f"Published on {s.created_at} UTC: every gate let it through"
        if attention:
            sentence += f", with warnings from {', '.join(attention)} (see below)"
        return sentence + "; these are the recommendations people now receive."
    if s.status == BLOCKED:
        failed = [g for g in s.gates if not g.passed]
        reasons = "; ".join(f"{g.name}: {g.message}" for g in failed)
        return f"Blocked on {s.created_at} UTC — {reasons}. The previous publication stays current."
    return f"Failed on {s.created_at} UTC: {s.message}. The previous publication stays current."


def render(inputs: ReportInputs, chosen: list[Section] | None = None) -> str:
    rendered = []
    for section in SECTIONS if chosen is None else chosen:
        values = section.context(inputs)
        if values is not None:
            rendered.append({"name": section.name, "title": section.title, "s": values})
    return render_template(
        "compliance.html.j2",
        summary=inputs.summary,
        verdict=verdict(inputs),
        sections=rendered,
        fmt=sections.fmt,
    )


def write_publication_report(settings: Settings, publication_id: str) -> Path:
    """Render a publication's compliance report from its summary (``gates.json``) and the
    warehouse, rewrite the index of all publications, and put the fairness figures,
    tables and the report on the training run in MLflow. Returns the report's path."""
    summary = PublicationSummary.read(settings.reports_dir / publication_id / SUMMARY_NAME)
    page = report_path(settings.reports_dir, publication_id)
    with connect(settings.warehouse, read_only=True) as con:
        page.write_text(render(ReportInputs(summary, con, settings.config)), encoding="utf-8")
        write_index(settings.reports_dir, con, settings.config.retention)
    if summary.mlflow_run_id:
        record_in_mlflow(settings, publication_id, summary.mlflow_run_id, page.parent)
    return page


def write_index(
    reports_dir: Path, con: duckdb.DuckDBPyConnection, retention: RetentionConfig
) -> Path:
    """Every publication, newest first, with its status and a link to its report, and
    what is kept for how long (the retention periods a reviewer is asked about first)."""
    publications = []
    if table_exists(con, "published", "publications"):
        frame = con.execute(
            """select publication_id, created_at, status, message, model_version
               from published.publications order by created_at desc, publication_id desc"""
        ).df()
        current = (
            con.execute(
                "select any_value(publication_id) from published.current_recommendations"
            ).fetchone()[0]
            if table_exists(con, "published", "current_recommendations")
            else None
        )
        for p in frame.itertuples():
            report = reports_dir / p.publication_id / REPORT_NAME
            publications.append(
                {
                    "id": p.publication_id,
                    "created_at": f"{p.created_at:%Y-%m-%d %H:%M}",
                    "status": p.status,
                    "current": p.publication_id == current,
                    "message": p.message,
                    "model_version": p.model_version or "none (role path)",
                    "link": f"{p.publication_id}/{REPORT_NAME}" if report.exists() else None,
                }
            )
    reports_dir.mkdir(parents=True, exist_ok=True)
    page = reports_dir / REPORT_NAME
    page.write_text(
        render_template("index.html.j2", publications=publications, retention=retention),
        encoding="utf-8",
    )
    return page
