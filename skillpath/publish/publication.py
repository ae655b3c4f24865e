"""One publication, start to end: write the candidate, judge it, switch or block, report.

Status values (docs/data-contract.md): ``published`` (gates passed, now current), ``blocked`` (a
gate failed; the previous publication stays current), ``failed`` (it crashed, or the
process died, before it was complete; nothing current changed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from ml.ranking import RankingConfig
from skillpath.privacy import suppressed_persons
from skillpath.publish import writer
from skillpath.publish.champion import (
    MODEL_NAME,
    promote_champion,
    registered_version,
)
from skillpath.publish.fairness import mitigate, store_mitigation
from skillpath.publish.gates import (
    ATTENTION,
    Gate,
    GateContext,
    GateResult,
    evaluate_gates,
    gate_results_json,
)
from skillpath.publish.registry import gate_registry
from skillpath.publish.report import PublicationSummary, write_report
from skillpath.publish.tables import BLOCKED, PUBLISHED, ensure_publish_tables
from skillpath.settings import Settings, pseudonym_key
from skillpath.warehouse import connect

if TYPE_CHECKING:
    from ml.runs import EvaluationOutcome

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """What the ranking produced and what it was produced from."""

    recommendations: pd.DataFrame
    model_version: str | None
    fallback_reason: str | None = None
    model_evaluation: EvaluationOutcome | None = None
    run_id: str = "manual"
    fallback_figures: Mapping[str, Any] = field(default_factory=dict)  # what training saw
    # the role path of every active person (ranking without a model): what a person
    # whose list is personalised is served should they opt out before the next one
    role_paths: pd.DataFrame | None = None


def pipeline_candidate(
    recommendations: pd.DataFrame,
    model_run_id: str | None,
    model_evaluation: EvaluationOutcome | None,
    tracking_uri: str,
    run_id: str,
    fallback: tuple[str, Mapping[str, Any]] | None = None,
    role_paths: pd.DataFrame | None = None,
) -> Candidate:
    """The candidate as the pipeline sees it: no model run means the role-path fallback,
    with the production training's reason and figures (``fallback``) when it gave them:
    the evaluation's own reason is about its smaller training split."""
    if model_run_id is None:
        reason, figures = fallback or (None, {})
        reason = reason or getattr(model_evaluation, "skipped", None) or "no model was trained"
        return Candidate(
            recommendations,
            None,
            str(reason),
            model_evaluation,
            run_id,
            dict(figures),
            role_paths=role_paths,
        )
    version = registered_version(tracking_uri, model_run_id)
    return Candidate(
        recommendations, version, None, model_evaluation, run_id, role_paths=role_paths
    )


def _without_erased(
    con: duckdb.DuckDBPyConnection, settings: Settings, frame: pd.DataFrame | None
) -> pd.DataFrame | None:
    """A second line of defence behind ingestion's suppression list: a candidate computed
    before an erasure (or from anything that slipped through) never publishes the
    person."""
    if frame is None or frame.empty:
        return frame
    erased = suppressed_persons(con, frame["person_key"].unique(), pseudonym_key(settings))
    if not erased:
        return frame
    log.warning("%d erased person(s) left out of the publication", len(erased))
    return frame[~frame["person_key"].isin(erased)].reset_index(drop=True)


@dataclass(frozen=True)
class PublicationResult:
    publication_id: str
    status: str
    message: str
    gates: list[GateResult]
    champion: str
    report_dir: Path | None

    @property
    def warnings(self) -> list[str]:
        """Messages of gates that let the publication through but need a reviewer's eye."""
        return [f"{g.name}: {g.message}" for g in self.gates if g.status in ATTENTION and g.passed]

    def as_dict(self) -> dict[str, Any]:
        """Plain data, for Dagster's IO manager and asset checks."""
        return {
            "publication_id": self.publication_id,
            "status": self.status,
            "message": self.message,
            "gates": [g.as_dict() for g in self.gates],
            "champion": self.champion,
            "report_dir": str(self.report_dir) if self.report_dir else None,
        }


def _message(status: str, gates: list[GateResult]) -> str:
    if status == PUBLISHED:
        return "all gates passed; now current"
    failed = [f"{g.name}: {g.message}" for g in gates if not g.passed]
    return "blocked by " + "; ".join(failed) + " — the previous publication stays current"


def publish(
    settings: Settings,
    candidate: Candidate,
    gates: list[Gate] | None = None,
    now: datetime | None = None,
    promote: Callable[[str, str | None], str] = promote_champion,
) -> PublicationResult:
    """Raises only when the publication could not be completed (it is then ``failed``)."""
    gates = gate_registry(settings.config).gates if gates is None else gates
    now = now or writer.utcnow()
    publication_id = writer.new_publication_id(now)
    with connect(settings.warehouse) as con:
        ensure_publish_tables(con)
        recs = _without_erased(con, settings, candidate.recommendations)
        role_paths = _without_erased(con, settings, candidate.role_paths)
        row = writer.PublicationRow(
            publication_id=publication_id,
            run_id=candidate.run_id,
            model_name=MODEL_NAME,
            model_version=candidate.model_version,
            personalised=bool(recs["personalised"].any()) if len(recs) else False,
            fallback_reason=candidate.fallback_reason,
            created_at=now,
        )
        writer.start(con, row)
        try:
            if settings.config.fairness.mitigation:  # docs/fairness.md, "Mitigation"
                mitigation = mitigate(con, recs, settings.config.fairness, RankingConfig().k)
                store_mitigation(con, publication_id, mitigation)
                recs = mitigation.lists
            writer.write_recommendations(con, publication_id, recs, role_paths)
            context = GateContext(
                con,
                publication_id,
                candidate.model_evaluation,
                candidate.fallback_reason,
                candidate.fallback_figures,
            )
            results = evaluate_gates(gates, context)
            status = PUBLISHED if all(g.passed for g in results) else BLOCKED
            message = _message(status, results)
            if status == PUBLISHED:
                writer.switch_current(con, publication_id, gate_results_json(results), message)
                champion = promote(settings.mlflow_tracking_uri, candidate.model_version)
                writer.record_champion(con, publication_id, champion)
            else:
                writer.block(con, publication_id, gate_results_json(results), message)
                champion = "not moved: publication blocked"
        except Exception as exc:
            writer.fail(con, publication_id, f"{type(exc).__name__}: {exc}")
            log.exception(
                "publication %s failed; the current publication is unchanged", publication_id
            )
            raise
    summary = PublicationSummary(
        publication_id=publication_id,
        status=status,
        message=message,
        created_at=f"{now:%Y-%m-%d %H:%M:%S}",
        model_version=candidate.model_version,
        fallback_reason=candidate.fallback_reason,
        persons=int(recs["person_key"].nunique()),
        recommendations=len(recs),
        personalised_persons=int(
            recs.loc[recs["personalised"].astype(bool), "person_key"].nunique()
        ),
        gates=results,
        run_id=candidate.run_id,
        mlflow_run_id=getattr(candidate.model_evaluation, "run_id", None),
        champion=champion,
    )
    report_dir = write_report(settings.reports_dir, summary)
    log.info("publication %s: %s (%s)", publication_id, status, message)
    return PublicationResult(publication_id, status, message, results, champion, report_dir)
