"""Robustness regimes (``skillpath sample --regime``) through the pipeline: each regime's
organisation is generated, ingested and built into marts by the pipeline's own assets
(nothing may be quarantined), and what makes it hard is recorded. With ``BENCH_L=1``, the
peak memory of the ML stage at 100,000 employees (goal <= 12 GB, issue #16).

Placeholder, named as one in its report section: the published-list evaluation per
regime (published vs global popularity, role popularity and vanilla LightFM on the
per-person hold-out, catalogue coverage; goals >= 1.1x vanilla LightFM and >= 1.5x
global popularity) is wired once ``ml/evaluate.py`` of issue #16 is on main."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from ml.data import Marts
from skillpath.sample import SampleConfig
from skillpath.sample.regimes import REGIMES
from tests.bench.landing import Landing, build_marts, sample_landing, use_data_dir
from tests.bench.report import record

REGIME_EMPLOYEES = 1000
MEMORY_GOAL_GIB = 12.0
KILL_GIB = 18.0  # the machine has 24: stop the ML stage before it takes the rest


def landing_profile(marts: Marts) -> dict[str, float]:
    """What makes a regime hard, as the marts see it: its size, and how concentrated
    the chosen (not mandatory) items are."""
    content = marts.content.set_index("content_id")
    engagement = marts.engagement
    mandatory = content.index[content["is_mandatory"].astype(bool)]
    chosen = engagement[~engagement["content_id"].isin(mandatory)]
    persons = marts.employees["person_key"].nunique()
    reach = chosen.groupby("content_id")["person_key"].nunique()
    per_person = chosen.groupby("person_key").size()
    return {
        "persons": persons,
        "items": len(content),
        "mandatory items": len(mandatory),
        "person x item": len(engagement),
        "top chosen item reach": reach.max() / persons if len(reach) else 0.0,
        "median items per learner": float(per_person.median()) if len(per_person) else 0.0,
    }


@pytest.mark.slow
def test_bench_quality_by_regime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = []
    for name, regime in REGIMES.items():
        started = time.perf_counter()
        landing: Landing = sample_landing(
            SampleConfig(employees=REGIME_EMPLOYEES, regime=name),
            tmp_path / name,
            monkeypatch,
        )
        profile = landing_profile(landing.marts)
        rows.append(
            {
                "regime": name,
                **profile,
                "landing rows": landing.rows_in,
                "quarantined": landing.quarantined,
                "generate+ingest+dbt s": round(time.perf_counter() - started, 1),
            }
        )
        assert profile["items"] > 0 and profile["person x item"] > 0, name
        assert regime.name == name
    table = pd.DataFrame(rows).set_index("regime")
    reach = table["top chosen item reach"]
    record(
        "Recommender quality by regime",
        f"Each regime of `skillpath sample --regime` ({REGIME_EMPLOYEES:,} employees, 12 months, "
        "seed 42), ingested and built into marts by the pipeline's assets; nothing was "
        "quarantined in any regime.\n\n"
        "Placeholder: the published-list evaluation on the per-person hold-out (published "
        "vs global popularity, role popularity and vanilla LightFM; catalogue coverage) is "
        "not wired yet: it waits for `ml/evaluate.py` of issue #16. What each landing "
        "looks like:\n\n"
        f"```\n{table.round(3).to_string()}\n```\n\n"
        f"- heavy-tail: the most taken chosen item reached {reach['heavy-tail']:.0%} of the "
        f"persons (default organisation: {reach['default']:.0%})\n",
    )


CHILD = r"""
import json, re, sys, time
from pathlib import Path
import dagster as dg
from orchestration.definitions import defs
started = time.perf_counter()
selection = dg.AssetSelection.groups("recommender", "publishing")
keys = list(selection.resolve(defs.resolve_asset_graph()))
result = defs.resolve_job_def("pipeline").execute_in_process(
    asset_selection=keys, raise_on_error=False
)
print(json.dumps({
    "success": result.success,
    "seconds": time.perf_counter() - started,
    # VmHWM starts afresh at exec; ru_maxrss would inherit the pytest parent's peak
    "peak_mib": int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())[1]) / 1024,
}))
"""


def ml_stage_peak(env: dict[str, str]) -> dict:
    """The ML stage (training, evaluation, ranking, gates, publication) on the marts of
    the current environment, in a fresh process so that its peak memory is its own. A
    watchdog stops it above ``KILL_GIB``, before the machine's other work suffers."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )
    watched = psutil.Process(child.pid)
    while child.poll() is None:
        try:
            rss = watched.memory_info().rss + sum(
                c.memory_info().rss for c in watched.children(recursive=True)
            )
        except psutil.NoSuchProcess:
            break
        if rss > KILL_GIB * 2**30:
            child.kill()
            child.wait()
            return {"success": False, "peak_mib": rss / 2**20, "killed": True}
        time.sleep(0.5)
    out = child.stdout.read() if child.stdout else ""
    if child.returncode != 0:
        raise RuntimeError(f"the ML stage exited with {child.returncode}")
    return {**json.loads(out.strip().splitlines()[-1]), "killed": False}


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("BENCH_L"), reason="100,000 employees: set BENCH_L=1")
def test_bench_ml_memory_at_100k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skillpath.sample import generate

    settings = use_data_dir(tmp_path / "org100k", monkeypatch)
    started = time.perf_counter()
    summary = generate(SampleConfig(employees=100_000), settings.landing_dir, settings.truth_dir)
    statements = sum(f.rows for f in summary.files if f.path.startswith("lms/statements"))
    build_marts()
    prepared = time.perf_counter() - started
    ml = ml_stage_peak(dict(os.environ))
    peak_gib = ml["peak_mib"] / 1024
    outcome = (
        f"stopped by the watchdog above {KILL_GIB:.0f} GiB"
        if ml["killed"]
        else f"{ml['seconds'] / 60:.1f} min, run {'succeeded' if ml['success'] else 'FAILED'}"
    )
    record(
        "ML stage memory at 100,000 employees",
        f"`skillpath sample --employees 100000` ({statements:,} statements), ingested and "
        f"built into marts ({prepared / 60:.1f} min), then the ML stage (Dagster groups "
        "recommender and publishing: training, evaluation, ranking, gates) in a fresh "
        f"process: peak RSS **{peak_gib:.1f} GiB** (goal <= {MEMORY_GOAL_GIB:.0f} GiB), "
        f"{outcome}.",
    )
    assert not ml["killed"] and ml["success"]
    assert peak_gib <= MEMORY_GOAL_GIB
