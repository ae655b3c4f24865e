"""A sample of the fuzz suite (tests/fixtures/ingest/fuzz.py): broken exports of every
source never crash ingestion, leave no row unaccounted for, are counted as a reader
written apart counts them, and no planted personal data reaches a message or a log.
`make bench` runs 1,000 cases per source (tests/bench/test_bench_fuzz.py)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.fixtures.ingest import fuzz


@pytest.mark.parametrize("seed", [1, 2])
def test_broken_exports_of_every_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    caplog.set_level(logging.DEBUG)
    outcome = fuzz.Outcome()
    fuzz.run(tmp_path / "data", fuzz.cases(seed, per_source=4), outcome, lambda: caplog.text)
    assert outcome.cases == 4 * 13
    assert outcome.clean, (outcome.crashes, outcome.unaccounted, outcome.miscounted, outcome.leaks)
    assert len(outcome.by_status) >= 2  # the defects did break something
