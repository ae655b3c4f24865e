"""The fairness gate in a publication: it blocks steered lists (the previous publication
stays current, the champion alias does not move), passes fair ones, says "not audited"
without sensitive data, and stores group-level results only."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ml import tracking
from skillpath.publish.fairness import FairnessGate, fairness_tables
from skillpath.publish.publication import Candidate, publish
from skillpath.publish.registry import gate_registry
from skillpath.reports.compliance import write_publication_report
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.publish import fairness_org

PROMOTED: list[str | None] = []


def _promote(uri: str, version: str | None) -> str:
    PROMOTED.append(version)
    return f"champion -> {version}"


def _publish(settings: Settings, org, version: str, gates=None, run_id: str | None = None):
    evaluation = fairness_org.evaluation(org.candidate, run_id)
    candidate = Candidate(org.candidate, version, None, evaluation, "test")
    return publish(settings, candidate, gates=gates, promote=_promote)


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    return Settings.from_env()


def test_steered_lists_are_blocked_and_the_previous_publication_stays(settings) -> None:
    fair = fairness_org.build(settings, steer=0.0)
    first = _publish(settings, fair, "1")
    gate = next(g for g in first.gates if g.name == "fairness")
    assert gate.status == "passed" and first.status == "published", gate.message
    steered = fairness_org.build(settings, steer=0.6, seed=1)
    PROMOTED.clear()
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    with tracking.start_run() as run:
        pass
    second = _publish(settings, steered, "2", run_id=run.info.run_id)
    write_publication_report(settings, second.publication_id)
    gate = next(g for g in second.gates if g.name == "fairness")
    assert second.status == "blocked" and gate.status == "failed"
    assert "exposure_advanced by gender: female" in gate.message
    assert "interval" in gate.message and "persons" in gate.message
    assert PROMOTED == [] and second.champion.startswith("not moved")
    with connect(settings.warehouse, read_only=True) as con:
        current = con.execute(
            "select distinct publication_id from published.current_recommendations"
        ).fetchall()
        tables = fairness_tables(con, second.publication_id)
    assert current == [(first.publication_id,)]
    groups = tables["fairness_groups"]
    women = groups[
        (groups["metric"] == "exposure_advanced")
        & (groups["attribute"] == "gender")
        & (groups["group"] == "female")
    ]
    assert bool(women["blocks"].iloc[0]) and women["ratio"].iloc[0] < 0.6
    # group-level only: no person key in any stored figure
    text = " ".join(t.to_csv() for t in tables.values())
    assert not any(key in text for key in steered.keys)
    # the figures and the report are on the training run, for comparing runs
    logged = MlflowClient(settings.mlflow_tracking_uri).get_run(run.info.run_id)
    ratio = logged.data.metrics["fairness.candidate/exposure_advanced.gender.ratio"]
    assert ratio < 0.6
    artifacts = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id))
    assert (artifacts / "compliance_report" / "index.html").exists()
    assert (artifacts / "fairness" / "ratios.png").read_bytes()[:4] == b"\x89PNG"
    groups_csv = (artifacts / "fairness" / "fairness_groups.csv").read_text()
    assert "female" in groups_csv and not any(key in groups_csv for key in steered.keys)


def test_without_sensitive_attributes_the_gate_says_not_audited(settings) -> None:
    org = fairness_org.build(settings, sensitive=False)
    result = _publish(settings, org, "1")
    gate = next(g for g in result.gates if g.name == "fairness")
    assert gate.status == "not_audited" and gate.passed and result.status == "published"
    assert "no sensitive-attribute data" in gate.message
    strict = replace(settings.config.fairness, block_when_not_audited=True)
    blocked = _publish(settings, org, "2", gates=[FairnessGate(strict)])
    assert blocked.status == "blocked" and blocked.gates[0].status == "not_audited"


def test_the_registry_runs_the_configured_fairness_gate(settings) -> None:
    registry = gate_registry(settings.config)
    gate = next(g for g in registry.gates if g.name == "fairness")
    assert isinstance(gate, FairnessGate) and gate.config == settings.config.fairness
