"""Shared fixtures: every test gets its own data directory through the environment
variables of DESIGN.md, so nothing touches ``data/`` of the working copy."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def skillpath_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("SKILLPATH_DATA_DIR", str(data))
    monkeypatch.setenv("SKILLPATH_LANDING_DIR", str(data / "landing"))
    monkeypatch.setenv("SKILLPATH_TRUTH_DIR", str(data / "truth"))
    monkeypatch.setenv("SKILLPATH_WAREHOUSE", str(data / "warehouse.duckdb"))
    monkeypatch.setenv("SKILLPATH_REPORTS_DIR", str(data / "reports"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{data / 'mlflow.db'}")
    monkeypatch.setenv("DAGSTER_HOME", str(data / "dagster"))
    monkeypatch.setenv("SKILLPATH_PSEUDONYM_KEY", "test-key-not-secret")
    return data
