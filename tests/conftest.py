"""Shared fixtures: every test gets its own data directory through the environment
variables (README.md, Configuration), so nothing touches ``data/`` of the working copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures.environment import data_environment


@pytest.fixture
def skillpath_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    for key, value in data_environment(data).items():
        monkeypatch.setenv(key, value)
    return data
