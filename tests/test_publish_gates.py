"""Gates decide; only a publication passing all of them becomes current."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.runs import EvaluationOutcome
from ml.train import FALLBACK_BLEND, Recipe
from skillpath.publish.gates import GateResult
from skillpath.publish.publication import Candidate, publish
from skillpath.publish.registry import gate_registry
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.ml.holdout import evaluation_of, failing_evaluation, passing_evaluation
from tests.fixtures.publish.warehouse import candidate_frame, current, keys, seed_ingestion

GOOD_EVAL = passing_evaluation()


def _no_mlflow(uri: str, version: str | None) -> str:
    return f"stub champion {version}"


def _publish(
    settings: Settings,
    tag: str,
    evaluation: EvaluationOutcome | None = GOOD_EVAL,
    fallback_reason: str | None = None,
    gates: list | None = None,
):
    candidate = Candidate(
        candidate_frame(settings, tag=tag),
        model_version=None if fallback_reason else "3",
        fallback_reason=fallback_reason,
        model_evaluation=evaluation,
        run_id="test",
    )
    return publish(settings, candidate, gates=gates, promote=_no_mlflow)


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    s = Settings.from_env()
    seed_ingestion(s)
    return s


def _status(settings: Settings, publication_id: str) -> str:
    with connect(settings.warehouse, read_only=True) as con:
        return con.execute(
            "select status from published.publications where publication_id = ?",
            [publication_id],
        ).fetchone()[0]


def test_passing_gates_publish_and_report_without_person_data(settings: Settings) -> None:
    result = _publish(settings, "a")
    assert result.status == "published"
    assert result.champion == "stub champion 3"
    with connect(settings.warehouse, read_only=True) as con:
        cur = current(con)
    assert set(cur["publication_id"]) == {result.publication_id}
    assert len(cur) == 6 and set(cur["content_id"]) == {"content-a-1", "content-a-2"}
    gates = {g.name: g for g in result.gates}
    assert set(gates) == {"data_quality", "model_quality", "fairness"}
    assert gates["fairness"].status == "not_audited" and gates["fairness"].passed
    assert result.warnings and "fairness" in result.warnings[0]
    assert gates["data_quality"].figures["rows_in"] == 100
    report = json.loads((result.report_dir / "gates.json").read_text())
    assert report["status"] == "published" and report["personalised_persons"] == 2
    text = json.dumps(report)
    assert not any(k in text for k in keys(settings).values())
    assert "T-00" not in text


def test_too_many_quarantined_rows_block_and_keep_the_old_publication(
    settings: Settings,
) -> None:
    first = _publish(settings, "a")
    seed_ingestion(settings, quarantined=30)  # 30 of 200 rows: 15%, limit 5 %
    second = _publish(settings, "b")
    assert second.status == "blocked"
    assert "quarantined" in second.message
    assert _status(settings, second.publication_id) == "blocked"
    with connect(settings.warehouse, read_only=True) as con:
        assert set(current(con)["publication_id"]) == {first.publication_id}


def test_a_failed_blocking_expectation_blocks(settings: Settings) -> None:
    seed_ingestion(settings, failed_expectation="unique_person_key")
    result = _publish(settings, "a")
    dq = next(g for g in result.gates if g.name == "data_quality")
    assert not dq.passed
    assert dq.figures["failed_blocking_expectations"] == ["hr_employees.unique_person_key"]
    with connect(settings.warehouse, read_only=True) as con:
        assert current(con).empty


def test_published_lists_below_popularity_are_blocked(settings: Settings) -> None:
    result = _publish(settings, "a", evaluation=failing_evaluation())
    assert result.status == "blocked"
    assert "model_quality" in result.message and "below popularity" in result.message


def test_lists_below_the_raw_top_10_of_popularity_warn_and_do_not_block(
    settings: Settings,
) -> None:
    # through the same rules the model leads popularity (0.4 vs 0.25), but the rules cost
    # popularity's own top 10 more: unranked, it hits 0.5 per person
    hits = np.tile([1.0, 0.0], 20)
    figures = {"model": hits * 0.8, "global_popularity": hits * 0.5, "role_popularity": hits * 0.4}
    rule_cost = evaluation_of(figures, raw={"global_popularity": hits})
    result = _publish(settings, "a", evaluation=rule_cost)
    gate = next(g for g in result.gates if g.name == "model_quality")
    assert result.status == "published" and gate.passed and gate.status == "warning"
    assert "hit less than popularity's raw top 10" in gate.message
    assert "ndcg_at_10: published lists 0.4000 vs global_popularity's raw top 10 0.5000" in (
        gate.message
    )
    # the same lists without that cost: no warning
    gate = next(
        g
        for g in _publish(settings, "b", evaluation_of(figures)).gates
        if g.name == "model_quality"
    )
    assert gate.status == "passed", gate.message


def _catalogue(settings: Settings, items: int) -> None:
    """``marts.dim_content`` with ``items`` active items named like the candidate's, the
    last one mandatory."""
    with connect(settings.warehouse) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            """create or replace table marts.dim_content as
               select 'content-a-' || i as content_id, true as is_active,
                      i = ? as is_mandatory
               from range(1, ? + 1) t(i)""",
            [items, items],
        )


def test_narrow_lists_warn_and_never_block(settings: Settings) -> None:
    _catalogue(settings, 41)  # 40 recommendable items
    same_two = pd.concat(  # 40 persons' lists, everyone the same 2 of them
        [candidate_frame(settings).assign(person_key=f"{i:064x}") for i in range(40)]
    )
    candidate = Candidate(same_two, "3", None, GOOD_EVAL, "test")
    result = publish(settings, candidate, promote=_no_mlflow)
    gate = next(g for g in result.gates if g.name == "model_quality")
    assert result.status == "published" and gate.passed and gate.status == "warning"
    assert gate.figures["publication.items_recommendable"] == 40
    assert gate.figures["publication.items_shown"] == 2
    assert gate.figures["publication.exposure_gini"] > 0.9
    assert "of the recommendable catalogue" in gate.message
    assert f"model_quality: {gate.message}" in result.warnings


def test_a_model_fitted_without_validation_warns_and_does_not_block(settings: Settings) -> None:
    flagged = replace(GOOD_EVAL, recipe=Recipe(30, dict(FALLBACK_BLEND), fallback="3 persons"))
    gate = next(g for g in _publish(settings, "a", flagged).gates if g.name == "model_quality")
    assert gate.passed and gate.status == "warning"
    assert "validation could not choose" in gate.message and "3 persons" in gate.message
    assert gate.figures["validation_fallback"] == "3 persons"
    validated = replace(GOOD_EVAL, recipe=Recipe(12, dict(FALLBACK_BLEND)))
    gate = next(g for g in _publish(settings, "b", validated).gates if g.name == "model_quality")
    assert gate.status == "passed", gate.message


def test_lists_that_use_what_they_can_reach_do_not_warn(settings: Settings) -> None:
    _catalogue(settings, 41)  # 3 persons × 2 slots can show 6 of 40 items; they show 2
    gate = next(g for g in _publish(settings, "a").gates if g.name == "model_quality")
    assert gate.status == "passed", gate.message
    _catalogue(settings, 3)  # 6 slots over 2 recommendable items: both shown, evenly
    gate = next(g for g in _publish(settings, "a").gates if g.name == "model_quality")
    assert gate.status == "passed", gate.message
    assert gate.figures["publication.catalogue_coverage"] == 1.0


def test_fallback_without_a_model_publishes_with_a_warning(settings: Settings) -> None:
    result = _publish(settings, "a", evaluation=None, fallback_reason="12 interactions")
    model = next(g for g in result.gates if g.name == "model_quality")
    assert model.passed and model.status == "warning" and "12 interactions" in model.message
    assert result.status == "published"


def test_the_data_quality_gate_judges_what_the_warehouse_holds(settings: Settings) -> None:
    """Each file's latest delivery: a bad export followed by the good one restored is
    judged on the good one; a held snapshot (nothing applied) does not count."""
    with connect(settings.warehouse) as con:
        for rows_quarantined, status, minute in ((100, "failed", 1), (0, "loaded", 2)):
            con.execute(
                """insert into audit.ingest_log (source, file, checksum, rows_in, rows_loaded,
                       rows_quarantined, rows_duplicate, status, message, started_at)
                   values ('lms_catalog', 'lms/catalog.csv', ?, 100, ?, ?, 0, ?, '',
                           timestamp '2026-01-01 00:00:00' + to_minutes(?))""",
                [status, 100 - rows_quarantined, rows_quarantined, status, minute],
            )
        con.execute(
            """insert into audit.ingest_log (source, file, checksum, rows_in, rows_loaded,
                   rows_quarantined, rows_duplicate, status, message, started_at)
               values ('hr_employees', 'hr/employees-2.csv', 'h', 500, 0, 500, 0,
                       'suspect_truncated', '', now())"""
        )
    dq = next(g for g in _publish(settings, "a").gates if g.name == "data_quality")
    assert dq.passed and dq.figures["rows_quarantined"] == 0


class _Unfair:
    name = "fairness"

    def evaluate(self, context) -> GateResult:
        return GateResult(self.name, False, "failed", "exposure gap 0.4 > 0.1", {"gap": 0.4})


class _Crashing:
    name = "crashing"

    def evaluate(self, context) -> GateResult:
        raise RuntimeError("boom")


def test_a_registered_fairness_gate_replaces_the_slot_and_can_block(settings: Settings) -> None:
    registry = gate_registry(settings.config)
    registry.register(_Unfair(), replace=True)
    assert registry.names == ["data_quality", "model_quality", "fairness"]
    with pytest.raises(ValueError, match="replace=True"):
        registry.register(_Unfair())
    result = _publish(settings, "a", gates=registry.gates)
    assert result.status == "blocked" and "exposure gap" in result.message


def test_a_crashing_gate_fails_closed(settings: Settings) -> None:
    registry = gate_registry(settings.config)
    registry.register(_Crashing())
    result = _publish(settings, "a", gates=registry.gates)
    assert result.status == "blocked"
    assert "gate crashed: RuntimeError: boom" in result.message


def test_the_quarantine_limit_of_the_configuration_decides(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLPATH_MAX_QUARANTINE_SHARE", "0.35")
    settings = Settings.from_env()
    seed_ingestion(settings, quarantined=30)  # 30 of 100 rows: under a 35 % limit
    result = _publish(settings, "a")
    dq = next(g for g in result.gates if g.name == "data_quality")
    assert dq.passed and dq.figures["max_quarantine_share"] == 0.35


def test_stored_results_of_the_old_placeholder_read_as_not_audited() -> None:
    old = {"name": "fairness", "passed": True, "status": "not_configured", "message": "m"}
    assert GateResult.from_dict({**old, "figures": {}}).status == "not_audited"
