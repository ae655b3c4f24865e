"""How long `skillpath sample` takes and how much memory it needs, at 1k and 10k
employees (100k with SKILLPATH_BENCH_100K=1). Goals: 10k in <= 60 s and 100k in
<= 10 min on 2 cores, with memory bounded by a month's activity, not by the history.

Each size runs in a fresh process, so its peak resident memory is its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.report import record

GOAL_SECONDS = {10_000: 60, 100_000: 600}
CHILD = r"""
import json, re, sys, time
from pathlib import Path
from skillpath.sample import SampleConfig, generate
n, out = int(sys.argv[1]), Path(sys.argv[2])
started = time.perf_counter()
summary = generate(SampleConfig(employees=n, seed=42), out / "landing", out / "truth")
print(json.dumps({
    "seconds": time.perf_counter() - started,
    # VmHWM starts afresh at exec; ru_maxrss would inherit the (large) pytest parent's peak
    "peak_mib": int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())[1]) / 1024,
    "files": [[f.path, f.rows, f.bytes] for f in summary.files],
    "truth_bytes": sum(p.stat().st_size for p in summary.truth_files),
}))
"""


def _run(employees: int, out: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(employees), str(out)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_bench_sample_generator(tmp_path: Path) -> None:
    sizes = [1_000, 10_000] + ([100_000] if os.environ.get("SKILLPATH_BENCH_100K") else [])
    rows = []
    for employees in sizes:
        out = tmp_path / str(employees)
        result = _run(employees, out)
        shutil.rmtree(out)  # 100k employees write ~6 GB
        files = result["files"]
        statements = [f for f in files if f[0].startswith("lms/statements")]
        tables = [f for f in files if f not in statements]
        n_statements = sum(f[1] for f in statements)
        rows.append(
            f"| {employees:,} | {result['seconds']:.1f} | {result['peak_mib']:,.0f} "
            f"| {n_statements:,} | {n_statements / result['seconds']:,.0f} "
            f"| {sum(f[2] for f in statements) / 2**20:,.0f} "
            f"| {sum(f[2] for f in tables) / 2**20:,.1f} | {result['truth_bytes'] / 2**20:,.1f} |"
        )
        goal = GOAL_SECONDS.get(employees)
        assert goal is None or result["seconds"] <= goal, (employees, result["seconds"])
    record(
        "Sample generator",
        "`skillpath sample` (12 months, seed 42), each size in a fresh process; sizes on disk "
        "in MiB.\n\n"
        "| employees | seconds | peak RSS MiB | statements | statements/s | statement files "
        "| CSV files | truth |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows),
    )
