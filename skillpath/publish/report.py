"""The publication's record for compliance, in ``<reports>/<publication_id>/``:
``gates.json`` (the gate results as data) and ``index.html`` (the compliance report,
``skillpath.reports.compliance``); ``<reports>/index.html`` lists every publication.
Groups and counts only — never a person."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillpath.publish.gates import GateResult
from skillpath.reports.compliance import ReportInputs, write_compliance_report, write_index
from skillpath.settings import Settings
from skillpath.warehouse import connect


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
    run_id: str = ""  # the pipeline (Dagster) run
    mlflow_run_id: str | None = None  # the training run
    champion: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "gates"}
        return {**data, "gates": [g.as_dict() for g in self.gates]}


def write_report(settings: Settings, summary: PublicationSummary) -> Path:
    """The publication's report directory, with its compliance report; the index of all
    publications is rewritten beside it."""
    out = settings.reports_dir / summary.publication_id
    out.mkdir(parents=True, exist_ok=True)
    (out / "gates.json").write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    with connect(settings.warehouse, read_only=True) as con:
        write_compliance_report(settings.reports_dir, ReportInputs(summary, con, settings.config))
        write_index(settings.reports_dir, con)
    return out
