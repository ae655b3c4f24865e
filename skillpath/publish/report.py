"""The publication's gate results for compliance: ``<reports>/<publication_id>/``
``gates.json`` and ``gates.html``. Groups and counts only — never a person."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillpath.publish.gates import ATTENTION, GateResult


@dataclass(frozen=True)
class PublicationSummary:
    publication_id: str
    status: str
    message: str
    created_at: str
    model_version: str | None
    fallback_reason: str | None
    persons: int
    recommendations: int
    personalised_persons: int
    gates: list[GateResult]

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "gates"}
        return {**data, "gates": [g.as_dict() for g in self.gates]}


def _figures_html(figures: dict[str, Any]) -> str:
    if not figures:
        return "<em>none</em>"
    rows = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(json.dumps(v, default=str))}</td></tr>"
        for k, v in figures.items()
    )
    return f"<table>{rows}</table>"


def render_html(summary: PublicationSummary) -> str:
    gates = "".join(
        f"<tr class='{'warn' if g.status in ATTENTION else g.status}'>"
        f"<td>{html.escape(g.name)}</td><td>{html.escape(g.status)}</td>"
        f"<td>{html.escape(g.message)}</td><td>{_figures_html(g.figures)}</td></tr>"
        for g in summary.gates
    )
    facts = {
        "status": summary.status,
        "message": summary.message,
        "created at (UTC)": summary.created_at,
        "model version": summary.model_version or "none (role path)",
        "fallback": summary.fallback_reason or "no",
        "persons": summary.persons,
        "persons with personalised lists": summary.personalised_persons,
        "recommendations": summary.recommendations,
    }
    fact_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in facts.items()
    )
    title = f"Publication {html.escape(summary.publication_id)}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{border:1px solid #ccc;padding:4px;
vertical-align:top;text-align:left}}table{{border-collapse:collapse}}
.passed{{background:#e7f6e7}}.failed{{background:#fbe3e3}}.warn{{background:#fff4d6}}</style>
</head><body><h1>{title}</h1><table>{fact_rows}</table>
<h2>Gates</h2><table><tr><th>gate</th><th>status</th><th>message</th><th>figures</th></tr>
{gates}</table></body></html>
"""


def write_report(reports_dir: Path, summary: PublicationSummary) -> Path:
    out = reports_dir / summary.publication_id
    out.mkdir(parents=True, exist_ok=True)
    (out / "gates.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    (out / "gates.html").write_text(render_html(summary))
    return out
