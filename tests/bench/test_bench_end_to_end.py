"""The end-to-end test (tests/test_end_to_end.py) on more generated organisations than CI
runs: every seed must end with a gate decision and keep every promise of the README;
how many publish (the model beat its baselines) and how many were blocked is recorded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests import test_end_to_end as e2e
from tests.bench.report import record

SEEDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)


@pytest.mark.slow
def test_bench_end_to_end_on_many_seeds(tmp_path: Path) -> None:
    checks = [
        e2e.test_every_landing_row_is_accounted_for,
        e2e.test_marts_are_built,
        e2e.test_the_gate_decision_is_recorded_and_only_a_published_run_is_current,
        e2e.test_every_active_employee_gets_ten_explained_recommendations,
        e2e.test_opted_out_employees_get_their_role_path,
        e2e.test_the_warehouse_holds_no_email_addresses,
    ]
    rows = []
    for seed in SEEDS:
        start = time.perf_counter()
        demo = e2e.run_demo(tmp_path / f"seed{seed}" / "data", seed)
        for check in checks:
            check(demo)
        outcome = "published" if demo.exit_code == e2e.PUBLISHED else "blocked"
        rows.append(f"| {seed} | {outcome} | {time.perf_counter() - start:.0f} |")
    published = sum("published" in r for r in rows)
    record(
        "End to end on many seeds",
        f"`skillpath sample --employees {e2e.EMPLOYEES} --seed S` + `run` + `export` + "
        f"`ingest`, and every check of tests/test_end_to_end.py, for {len(SEEDS)} seeds: "
        f"**{published} published, {len(SEEDS) - published} blocked by a gate** (every "
        "check held on each).\n\n| seed | outcome | seconds |\n|---:|---|---:|\n"
        + "\n".join(rows)
        + "\n",
    )
