"""The gates a candidate publication must pass before it becomes current.

A gate is any object with a ``name`` and ``evaluate(context) -> GateResult``; the
registry (``gate_registry(config)``) holds the list in order, built from the
configuration (``skillpath/config.toml``). Every gate result has one of four statuses
(``GATE_STATUSES``), the one list the summary, the report and the Dagster checks show:

- ``passed``: the gate looked and found nothing wrong;
- ``warning``: publication goes ahead, but something a reviewer must know about is shown
  in yellow (e.g. too little data to train, thin validation, low catalogue coverage);
- ``not_audited``: the gate could not look (e.g. no data for the audit). Never shown as a
  pass; whether it blocks is the gate's configuration (``GateResult.passed`` says);
- ``failed``: publication is blocked; the previous one stays current.

``GateResult.passed`` is "does not block": true for passed and warning, false for failed,
and either for not_audited.

Until the fairness audit exists, a placeholder reports ``not_audited`` (and does not
block) so that status and the report show plainly that no fairness audit was run.

Figures go into the publication's report, which compliance reads: they are counts,
shares and names of checks, never person-level data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import duckdb

from skillpath.config import Config
from skillpath.publish.tables import table_exists

PASSED, WARNING, NOT_AUDITED, FAILED = "passed", "warning", "not_audited", "failed"
GATE_STATUSES = (PASSED, WARNING, NOT_AUDITED, FAILED)
# statuses a reviewer must look at even when publication went ahead
ATTENTION = (WARNING, NOT_AUDITED)
# the label before a gate's message in the summary and `skillpath status`
STATUS_LABELS = {
    PASSED: "passed",
    WARNING: "WARNING",
    NOT_AUDITED: "NOT AUDITED",
    FAILED: "FAILED",
}
# stored by publications made before the status list existed
_LEGACY_STATUSES = {"not_configured": NOT_AUDITED}


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    status: str
    message: str
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def needs_attention(self) -> bool:
        """Not a plain pass: a warning, an audit that could not run, or a block."""
        return self.status != PASSED

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        values = {k: data[k] for k in ("name", "passed", "status", "message", "figures")}
        values["status"] = _LEGACY_STATUSES.get(values["status"], values["status"])
        return cls(**values)


@dataclass(frozen=True)
class GateContext:
    """What a gate may look at: the warehouse (with the candidate's rows under
    ``publication_id`` in ``published.recommendations``), the model evaluation, and why
    the fallback is in use, if it is."""

    con: duckdb.DuckDBPyConnection
    publication_id: str
    model_evaluation: Mapping[str, Any] | None
    fallback_reason: str | None


class Gate(Protocol):
    name: str

    def evaluate(self, context: GateContext) -> GateResult: ...


def _result(name: str, passed: bool, message: str, figures: dict[str, Any]) -> GateResult:
    return GateResult(name, passed, PASSED if passed else FAILED, message, figures)


@dataclass(frozen=True)
class DataQualityGate:
    """Ingestion's stored results: no failed blocking expectation in the latest
    validation of each table, and the share of quarantined rows under a threshold.

    ``audit.validation_results`` has no severity column yet, so every failed expectation
    blocks unless its name is in ``warn_only``; if the column ``blocking`` appears, it
    decides instead.
    """

    max_quarantine_share: float
    name: str = "data_quality"
    warn_only: frozenset[str] = frozenset()

    def evaluate(self, context: GateContext) -> GateResult:
        con = context.con
        if not table_exists(con, "audit", "ingest_log"):
            return _result(self.name, False, "nothing ingested yet: run skillpath ingest", {})
        rows_in, quarantined, files, failed_files = con.execute(
            """select coalesce(sum(rows_in), 0), coalesce(sum(rows_quarantined), 0), count(*),
                      count(*) filter (where status = 'failed')
               from audit.ingest_log"""
        ).fetchone()
        share = quarantined / rows_in if rows_in else 0.0
        failures = self._failed_expectations(con)
        figures = {
            "files": files,
            "files_rejected": failed_files,
            "rows_in": rows_in,
            "rows_quarantined": quarantined,
            "quarantine_share": round(share, 4),
            "max_quarantine_share": self.max_quarantine_share,
            "failed_blocking_expectations": failures,
        }
        if failures is None:
            return _result(
                self.name, False, "no stored validation results: run ingestion first", figures
            )
        problems = []
        if failures:
            problems.append(f"{len(failures)} blocking expectation(s) failed")
        if share >= self.max_quarantine_share:
            problems.append(
                f"{share:.1%} of ingested rows quarantined (limit {self.max_quarantine_share:.0%})"
            )
        if problems:
            return _result(self.name, False, "; ".join(problems), figures)
        note = f"; {failed_files} file(s) rejected, see audit.ingest_log" if failed_files else ""
        return _result(self.name, True, f"{share:.1%} of rows quarantined{note}", figures)

    def _failed_expectations(self, con: duckdb.DuckDBPyConnection) -> list[str] | None:
        if not table_exists(con, "audit", "validation_results"):
            return None
        columns = {
            r[0]
            for r in con.execute(
                """select column_name from information_schema.columns
                   where table_schema = 'audit' and table_name = 'validation_results'"""
            ).fetchall()
        }
        if not con.execute("select count(*) from audit.validation_results").fetchone()[0]:
            return None
        blocking = "coalesce(blocking, true)" if "blocking" in columns else "true"
        rows = con.execute(
            f"""with latest as (
                    select table_name, max(run_at) as run_at
                    from audit.validation_results group by table_name)
                select distinct v.table_name || '.' || v.expectation
                from audit.validation_results v join latest using (table_name, run_at)
                where not coalesce(v.success, false) and {blocking}
                order by 1"""
        ).fetchall()
        return [r[0] for r in rows if r[0].split(".", 1)[1] not in self.warn_only]


@dataclass(frozen=True)
class ModelQualityGate:
    """The model must beat its baselines on the hold-out, unless no model was trained
    (too little data), in which case the rules-only role path is what is published."""

    name: str = "model_quality"

    def evaluate(self, context: GateContext) -> GateResult:
        evaluation = dict(context.model_evaluation or {})
        figures = _headline_figures(evaluation)
        if context.fallback_reason:
            figures["fallback"] = True
            return _result(
                self.name,
                True,
                f"no model ({context.fallback_reason}): everyone gets the role path",
                figures,
            )
        if "beats_baseline" not in evaluation:
            return _result(self.name, False, "no model evaluation: cannot judge the model", figures)
        if evaluation["beats_baseline"]:
            return _result(self.name, True, "the model beats its baselines", figures)
        return _result(self.name, False, "the model does not beat its baselines", figures)


HEADLINE_METRICS = ("ndcg_at_10", "precision_at_10", "gap_coverage")


def _headline_figures(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """The few figures a reviewer compares (every approach on all persons); the full
    table is in the MLflow run."""
    return {
        f"{approach}.{metric}": round(float(slices["all"][metric]), 4)
        for approach, slices in evaluation.items()
        if isinstance(slices, Mapping) and isinstance(slices.get("all"), Mapping)
        for metric in HEADLINE_METRICS
        if metric in slices["all"]
    }


@dataclass(frozen=True)
class NotConfiguredGate:
    """A slot for a gate another part provides later: not audited, loudly, not blocking."""

    name: str

    def evaluate(self, context: GateContext) -> GateResult:
        return GateResult(
            self.name,
            True,
            NOT_AUDITED,
            f"no {self.name} audit configured: this publication was not audited for {self.name}",
            {},
        )


class GateRegistry:
    def __init__(self, gates: list[Gate] | None = None) -> None:
        self._gates: list[Gate] = list(gates or [])

    def register(self, gate: Gate, replace: bool = False) -> None:
        """Add a gate, or with ``replace`` take the place of the one with its name."""
        names = [g.name for g in self._gates]
        if gate.name in names:
            if not replace:
                raise ValueError(f"a gate named {gate.name!r} is registered; pass replace=True")
            self._gates[names.index(gate.name)] = gate
        else:
            self._gates.append(gate)

    @property
    def gates(self) -> list[Gate]:
        return list(self._gates)

    @property
    def names(self) -> list[str]:
        return [g.name for g in self._gates]


GATE_NAMES = ("data_quality", "model_quality", "fairness")


def gate_registry(config: Config) -> GateRegistry:
    """The gates of a publication, in order, as the configuration sets them."""
    return GateRegistry(
        [
            DataQualityGate(max_quarantine_share=config.ingest.max_quarantine_share),
            ModelQualityGate(),
            NotConfiguredGate("fairness"),
        ]
    )


def evaluate_gates(gates: list[Gate], context: GateContext) -> list[GateResult]:
    """A gate that crashes fails (with the error), it does not pass by omission."""
    results = []
    for gate in gates:
        try:
            results.append(gate.evaluate(context))
        except Exception as exc:
            results.append(
                _result(gate.name, False, f"gate crashed: {type(exc).__name__}: {exc}", {})
            )
    return results


def gate_results_json(results: list[GateResult]) -> str:
    return json.dumps([r.as_dict() for r in results], default=str)


def gate_results_from_json(text: str | None) -> list[GateResult]:
    return [GateResult.from_dict(d) for d in json.loads(text or "[]")]
