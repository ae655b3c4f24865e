"""Shared fixtures: every test gets its own data directory through the environment
variables (README.md, Configuration), so nothing touches ``data/`` of the working copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.demo import Demo, run_demo
from tests.fixtures.environment import data_environment
from tests.fixtures.marts.build import BuiltMarts, build_tiny_org_marts


@pytest.fixture
def skillpath_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    for key, value in data_environment(data).items():
        monkeypatch.setenv(key, value)
    return data


@pytest.fixture(scope="session")
def tiny_marts(tmp_path_factory: pytest.TempPathFactory) -> BuiltMarts:
    """The hand-made organisation of tests/fixtures/marts/tiny_org.sql built once per
    session through Dagster (a dbt build takes most of a minute); tests only read it."""
    return build_tiny_org_marts(tmp_path_factory.mktemp("marts") / "data")


@pytest.fixture(scope="session")
def demos(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Demo]:
    """The end-to-end demo of a seed (tests/fixtures/demo.py), run once per session: the
    tests that only read it share it, the privacy tests copy it before they erase."""
    runs: dict[int, Demo] = {}

    def demo(seed: int) -> Demo:
        if seed not in runs:
            runs[seed] = run_demo(tmp_path_factory.mktemp(f"demo{seed}") / "data", seed)
        return runs[seed]

    return demo
