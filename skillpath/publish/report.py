"""The publication's record for compliance: ``<reports>/<publication_id>/gates.json``
(the summary and gate results as data), from which ``skillpath.reports.compliance``
renders the compliance report ``<reports>/<publication_id>/index.html``. Groups and
counts only — never a person."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillpath.publish.gates import GateResult

SUMMARY_NAME = "gates.json"
REPORT_NAME = "index.html"


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

    @classmethod
    def read(cls, path: Path) -> PublicationSummary:
        data = json.loads(path.read_text())
        data["gates"] = [GateResult.from_dict(g) for g in data["gates"]]
        return cls(**data)


def report_path(reports_dir: Path, publication_id: str) -> Path:
    """Where the compliance report of a publication is."""
    return reports_dir / publication_id / REPORT_NAME


def write_report(reports_dir: Path, summary: PublicationSummary) -> Path:
    """The publication's report directory, with its summary as data."""
    out = reports_dir / summary.publication_id
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_NAME).write_text(json.dumps(summary.as_dict(), indent=2, default=str))
    return out
