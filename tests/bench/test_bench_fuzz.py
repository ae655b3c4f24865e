"""The fuzz suite at volume: 1,000 broken exports per source (tests/fixtures/ingest/fuzz.py),
ingested in batches; goal: 0 crashes, 0 rows unaccounted for, rows_in as counted apart,
0 planted personal data in a message or a log line."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import pytest

from tests.bench.report import record
from tests.fixtures.ingest import fuzz

PER_SOURCE = 1_000
BATCH = 100  # cases per source in one warehouse


@pytest.mark.slow
def test_bench_fuzz(tmp_path: Path) -> None:
    outcome = fuzz.Outcome()
    started = time.perf_counter()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for seed in range(PER_SOURCE // BATCH):
        buffer = io.StringIO()
        handler = logging.StreamHandler(buffer)
        root.addHandler(handler)
        try:
            cases = fuzz.cases(1_000 + seed, per_source=BATCH)
            fuzz.run(tmp_path / "data", cases, outcome, buffer.getvalue)
        finally:
            root.removeHandler(handler)
    root.setLevel(level)
    seconds = time.perf_counter() - started
    statuses = ", ".join(f"{s} {n:,}" for s, n in sorted(outcome.by_status.items()))
    record(
        "Fuzz (broken exports)",
        f"""
{PER_SOURCE:,} broken exports per source ({outcome.cases:,} files, 13 sources), each with
one to three defects (`tests/fixtures/ingest/fuzz.py`), ingested {BATCH} per source at a
time: **{len(outcome.crashes)} crashes, {len(outcome.unaccounted)} files with rows
unaccounted for, {len(outcome.miscounted)} files whose rows_in differs from the count made
apart, {len(outcome.leaks)} planted personal data in messages or logs**; {seconds:.0f} s.
Statuses: {statuses}.
""",
    )
    assert outcome.cases == 13 * PER_SOURCE
    assert outcome.clean, (
        outcome.crashes[:5],
        outcome.unaccounted[:5],
        outcome.miscounted[:5],
        outcome.leaks[:5],
    )
