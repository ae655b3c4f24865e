"""The gates a candidate publication must pass before it becomes current.

A gate is any object with a ``name`` and ``evaluate(context) -> GateResult``; the
registry (``skillpath.publish.registry.gate_registry(config)``) holds the list in order,
built from the configuration (``skillpath/config.toml``). Every gate result has one of four statuses
(``GATE_STATUSES``), the one list the summary, the report and the Dagster checks show:

- ``passed``: the gate looked and found nothing wrong;
- ``warning``: publication goes ahead, but something a reviewer must know about is shown
  in yellow (e.g. too little data to train, thin validation, low catalogue coverage);
- ``not_audited``: the gate could not look (e.g. no data for the audit). Never shown as a
  pass; whether it blocks is the gate's configuration (``GateResult.passed`` says);
- ``failed``: publication is blocked; the previous one stays current.

``GateResult.passed`` is "does not block": true for passed and warning, false for failed,
and either for not_audited.

The fairness gate (``skillpath.publish.fairness.FairnessGate``) reports ``not_audited``
when no gender, age or disability data could be audited, and blocks then only if
``fairness.block_when_not_audited`` says so.

Figures go into the publication's report, which compliance reads: they are counts,
shares and names of checks, never person-level data.

Why one module of about 400 lines: the gates, their result type and their registry
are read together when adding a gate (CONTRIBUTING.md); the fairness gate, the largest,
already lives in ``skillpath/publish/fairness.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from ml.metrics import catalogue_coverage, gini
from ml.verdict import BELOW, WORSE, QualityRule, below_raw_popularity, compare_with_popularity
from skillpath.config import Config
from skillpath.publish.tables import table_exists

if TYPE_CHECKING:
    from ml.evaluate import ModelEvaluation
    from ml.runs import EvaluationOutcome

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
    model_evaluation: EvaluationOutcome | None
    fallback_reason: str | None
    fallback_figures: Mapping[str, Any] = field(default_factory=dict)


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
        # what the warehouse holds now: each file's latest delivery, a held snapshot
        # (nothing of it applied) and unmatched files (not read) left out
        rows_in, quarantined, files, failed_files = con.execute(
            """select coalesce(sum(rows_in), 0), coalesce(sum(rows_quarantined), 0), count(*),
                      count(*) filter (where status = 'failed')
               from (select *, row_number() over (partition by file
                                                  order by started_at desc) as version
                     from audit.ingest_log)
               where version = 1 and status not in ('suspect_truncated', 'unmatched')"""
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
    """The published lists must not be below popularity.

    Decides on the hold-out figures of the *published* lists (every approach through the
    same ranking rules: ``ml.evaluate``) of the configured protocol, with the paired
    bootstrap rule of ``ml.verdict``: blocks when the model's lists are below the better
    of global and role popularity beyond the interval on any metric of the rule; warns
    when a point estimate is below but the interval reaches it, when the lists hit less
    than a popularity baseline's raw top 10 (the rules cost more than the model's lead),
    when too few persons were evaluated to judge, or when the candidate's lists use less
    of the catalogue than the floor (diversity never blocks; the Gini of exposure is
    reported beside it).
    Without a model (too little data) the rules-only role path is what is published, and
    the gate passes. Raw-score and
    published figures of every approach and protocol are in the figures side by side.
    """

    rule: QualityRule
    min_persons: int
    min_catalogue_coverage: float  # of what the lists' slots could cover
    name: str = "model_quality"

    def evaluate(self, context: GateContext) -> GateResult:
        outcome = context.model_evaluation
        figures = diversity_figures(context.con, context.publication_id)
        warnings = self._diversity_warnings(figures)
        if context.fallback_reason:
            # published (role paths are a sound default), but never as a green pass: too
            # little data to personalise is something HR and the works council must see
            figures.update({"fallback": True, **context.fallback_figures})
            message = f"no model ({context.fallback_reason}): everyone gets the role path"
            text = "; ".join([message, *warnings])
            return GateResult(self.name, True, WARNING, text, figures)
        if outcome is None or outcome.evaluation is None:
            why = f" ({outcome.skipped})" if outcome is not None and outcome.skipped else ""
            message = f"no model evaluation{why}: the model cannot be compared with popularity"
            return _result(self.name, False, message, figures)
        evaluation = outcome.evaluation
        figures.update(evaluation_figures(evaluation))
        fallback = outcome.recipe.fallback if outcome.recipe is not None else ""
        figures["validation_fallback"] = fallback
        if fallback:
            warnings.append(
                f"validation could not choose the model's epochs and blend ({fallback}): "
                "fitted with the documented fallback (ml/README.md, Validation by persons)"
            )
        gate = evaluation.gate
        if gate.counts["persons"] < self.min_persons:
            warnings.append(
                f"only {gate.counts['persons']} hold-out persons ({gate.protocol}): too few "
                f"to compare with popularity (minimum {self.min_persons})"
            )
            return _judged(self.name, False, "the model could not be judged", warnings, figures)
        comparisons = compare_with_popularity(gate, self.rule)
        for c in comparisons:
            figures.update(
                {
                    f"decision.{c.metric}.{k}": round(v, 4) if isinstance(v, float) else v
                    for k, v in asdict(c).items()
                    if k in {"baseline", "baseline_value", "difference", "low", "high"}
                }
            )
            figures[f"decision.{c.metric}.verdict"] = c.verdict
        worse = [c.sentence() for c in comparisons if c.verdict == WORSE]
        if worse:
            message = "the published lists are below popularity: " + "; ".join(worse)
            return _judged(self.name, True, message, warnings, figures)
        warnings += [
            "below popularity, within the interval: " + c.sentence()
            for c in comparisons
            if c.verdict == BELOW
        ]
        rule_cost = below_raw_popularity(gate, self.rule.metrics)
        if rule_cost:
            warnings.append(
                "the published lists hit less than popularity's raw top 10, so the ranking "
                f"rules cost more than the model's lead ({'; '.join(rule_cost)})"
            )
        message = f"the published lists are not below popularity ({gate.protocol} hold-out)"
        return _judged(self.name, False, message, warnings, figures)

    def _diversity_warnings(self, figures: Mapping[str, Any]) -> list[str]:
        out = []
        coverage = figures.get("publication.catalogue_coverage")
        reachable = figures.get("publication.reachable_coverage", 1.0)
        floor = self.min_catalogue_coverage * reachable
        if coverage is not None and coverage < floor:
            out.append(
                f"the lists use {coverage:.1%} of the recommendable catalogue (floor {floor:.1%}:"
                f" {self.min_catalogue_coverage:.0%} of the {reachable:.0%} its slots could fill)"
            )
        return out


def _judged(
    name: str, blocks: bool, message: str, warnings: list[str], figures: dict[str, Any]
) -> GateResult:
    """Blocking fails; otherwise passed, with status warning when there are warnings."""
    text = "; ".join([message, *warnings])
    if blocks:
        return GateResult(name, False, FAILED, text, figures)
    return GateResult(name, True, WARNING if warnings else PASSED, text, figures)


HEADLINE_METRICS = ("ndcg_at_10", "precision_at_10")
HEADLINE_APPROACHES = ("model", "global_popularity", "role_popularity", "vanilla_lightfm")
GATE_COUNTS = (
    "persons",
    "persons_too_few_positives",
    "mandatory_items",
    "mandatory_holdout_positives",
)


def evaluation_figures(evaluation: ModelEvaluation) -> dict[str, Any]:
    """The figures a reviewer compares: per protocol, NDCG@10 and precision@10 of the
    model, the popularity baselines and vanilla LightFM on their raw scores and on their
    published lists side by side, the model's published gap and catalogue coverage, and
    the gate protocol's counts. Every other figure is in the MLflow run."""
    figures: dict[str, Any] = {"protocol": evaluation.gate_protocol}
    counts = evaluation.gate.counts
    figures.update({k: int(counts[k]) for k in GATE_COUNTS if k in counts})
    for name, ev in evaluation.protocols.items():
        for stage in ("raw", "published"):
            for approach in HEADLINE_APPROACHES:
                for metric in HEADLINE_METRICS:
                    value = ev.value(metric, approach, stage)
                    if value == value:  # an approach left out (no vanilla seeds) is NaN
                        figures[f"{name}.{stage}.{approach}.{metric}"] = round(value, 4)
        for metric in ("gap_coverage", "catalogue_coverage"):
            figures[f"{name}.published.model.{metric}"] = round(ev.value(metric), 4)
    return figures


def diversity_figures(con: duckdb.DuckDBPyConnection, publication_id: str) -> dict[str, Any]:
    """Catalogue coverage and Gini of exposure of the candidate's lists over the
    recommendable catalogue (active, not mandatory, in ``marts.dim_content``); nothing
    when there is no catalogue mart to measure against."""
    if not table_exists(con, "marts", "dim_content") or not table_exists(
        con, "published", "recommendations"
    ):
        return {}
    columns = {
        r[0]
        for r in con.execute(
            """select column_name from information_schema.columns
               where table_schema = 'marts' and table_name = 'dim_content'"""
        ).fetchall()
    }
    mandatory = "coalesce(c.is_mandatory, false)" if "is_mandatory" in columns else "false"
    shown = con.execute(
        f"""select count(r.content_id) as shown
            from marts.dim_content c
            left join published.recommendations r
              on r.content_id = c.content_id and r.publication_id = ?
            where coalesce(c.is_active, false) and not {mandatory}
            group by c.content_id""",
        [publication_id],
    ).fetchnumpy()["shown"]
    return {
        "publication.items_recommendable": int(shown.size),
        "publication.items_shown": int((shown > 0).sum()),
        # a catalogue larger than all lists' slots together cannot be covered
        "publication.reachable_coverage": round(min(1.0, shown.sum() / max(shown.size, 1)), 4),
        "publication.catalogue_coverage": round(catalogue_coverage(shown), 4),
        "publication.exposure_gini": round(gini(shown), 4),
    }


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


def model_quality_gate(config: Config) -> ModelQualityGate:
    """The model-quality gate as configured (the Dagster asset check uses the same)."""
    q = config.model_quality
    return ModelQualityGate(
        rule=QualityRule(margin=q.margin, confidence=q.confidence, n_boot=q.resamples, seed=q.seed),
        min_persons=q.min_persons,
        min_catalogue_coverage=q.min_catalogue_coverage,
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
