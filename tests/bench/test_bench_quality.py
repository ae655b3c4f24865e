"""Recommender quality by robustness regime (``skillpath sample --regime``): each regime's
organisation is generated, ingested and built into marts by the pipeline's own assets,
then its ``model_evaluation`` asset judges what is published on the per-person hold-out —
the published lists against global popularity, role popularity and vanilla LightFM
trained on the same landing, and what the history alone predicts (EASE) — with the
catalogue coverage and the Gini of exposure of the published lists, and the model-quality
gate's decision on those figures. Also the default organisation at 10,000 employees, and,
with ``BENCH_L=1``, the peak memory of the ML stage at 100,000 employees.

Goals (issue #16): in every regime the published lists reach >= 1.1x vanilla LightFM and
>= 1.5x global popularity (precision@10 and NDCG@10); on the default organisation NDCG@10
>= 1.3x role popularity at 1k and 10k; the ML stage within 12 GB at 100k. A regime that
misses is reported with its figures, not failed: the table is the result.

A check rides along: the default regime is evaluated twice (the same landing must give
the same figures and gate verdict)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import psutil
import pytest

from ml.data import Marts
from ml.evaluate import (
    MODEL,
    PER_PERSON,
    PUBLISHED,
    RAW,
    VANILLA,
    EvalConfig,
    ModelEvaluation,
    ProtocolEvaluation,
    make_holdout,
)
from ml.metrics import per_person
from ml.train import TrainConfig, choose_l2
from ml.verdict import QualityRule, below_raw_popularity, compare_with_popularity
from skillpath.sample import SampleConfig
from skillpath.sample.regimes import REGIMES
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.bench.landing import (
    Landing,
    build_marts,
    ingest_sensitive_attributes,
    sample_landing,
    use_data_dir,
)
from tests.bench.report import record

REGIME_EMPLOYEES = 1000
LARGE_EMPLOYEES = 10_000
METRICS = {"precision_at_10": "P@10", "ndcg_at_10": "NDCG@10"}
K = 10
COMPARED = ("global_popularity", "role_popularity", VANILLA)
GOALS = {VANILLA: 1.1, "global_popularity": 1.5}  # published / baseline, both metrics
ROLE_GOAL = 1.3  # default organisation, NDCG@10 published / role popularity
MEMORY_GOAL_GIB = 12.0
KILL_GIB = 18.0  # the machine has 24: stop the ML stage before it takes the rest
# the benchmark judges the per-person hold-out only (the pipeline also runs the global
# time cut); everything else is the shipped configuration
BENCH_CONFIG = '[evaluation]\nprotocols = ["per_person"]\ngate_protocol = "per_person"\n'


def landing_profile(marts: Marts) -> dict[str, float]:
    """What makes a regime hard, as the marts see it: its size, and how concentrated
    the chosen (not mandatory) items are."""
    content = marts.content.set_index("content_id")
    engagement = marts.engagement
    mandatory = content.index[content["is_mandatory"].astype(bool)]
    chosen = engagement[~engagement["content_id"].isin(mandatory)]
    persons = marts.employees["person_key"].nunique()
    reach = chosen.groupby("content_id")["person_key"].nunique()
    return {
        "persons": persons,
        "items": len(content),
        "mandatory": len(mandatory),
        "person x item": len(engagement),
        "top chosen reach": reach.max() / persons if len(reach) else 0.0,
    }


def evaluate_landing() -> ModelEvaluation:
    """The pipeline's own evaluation asset on the marts of the current environment."""
    from orchestration.definitions import defs

    keys = [dg.AssetKey("training_dataset"), dg.AssetKey("model_evaluation")]
    result = defs.resolve_job_def("pipeline").execute_in_process(asset_selection=keys)
    assert result.success
    outcome = result.output_for_node("model_evaluation")
    assert outcome.evaluation is not None, outcome.skipped
    return outcome.evaluation


def history_signal(marts: Marts) -> dict[str, float]:
    """How much a person's own history predicts beyond popularity in this landing: EASE
    (``ml.itemitem``, the item-item weights the model blends) on the history alone, with
    the λ of its grid whose NDCG@10 is best on the hold-out itself — an optimistic
    reference, on the same per-person hold-out and items as the evaluation. On the public
    data set of issue #16 this reference reached 1.75x global popularity; where it stays
    near 1x, the history adds little to popularity and only role and skill signals can
    lift the lists."""
    holdout = make_holdout(marts, EvalConfig(protocols=(PER_PERSON,)), PER_PERSON)
    history = holdout.split.history
    chosen = history[(history["weight"] > 0) & ~history["content_id"].isin(holdout.mandatory)]
    # the λ search of training (ml.train), here on the hold-out itself
    _, scores, _ = choose_l2(
        chosen, holdout.persons, holdout.items, holdout.positives, holdout.exclude, TrainConfig()
    )
    values, _ = per_person(scores, holdout.positives, holdout.exclude, K)
    return {f"{short} EASE alone": float(values[m].mean()) for m, short in METRICS.items()} | {
        "EASE persons": len(holdout.persons)
    }


def gate_verdict(ev: ProtocolEvaluation) -> str:
    """The model-quality gate's decision rule as configured, on ``ev``'s figures, and its
    warning where the published lists hit less than popularity's raw top 10."""
    q = Settings.from_env().config.model_quality
    rule = QualityRule(margin=q.margin, confidence=q.confidence, n_boot=q.resamples, seed=q.seed)
    decided = ", ".join(
        f"{METRICS[c.metric]} {c.verdict} ({c.difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}]"
        f" vs {c.baseline})"
        for c in compare_with_popularity(ev, rule)
    )
    rule_cost = below_raw_popularity(ev, rule.metrics)
    return decided + (f"; warns, below raw popularity: {'; '.join(rule_cost)}" if rule_cost else "")


def quality_row(ev: ProtocolEvaluation) -> dict[str, float | str]:
    """Published figures of the model and of each baseline; a baseline counts with the
    better of its raw and its published lists (the stricter comparison)."""
    row: dict[str, float | str] = {"evaluated": ev.counts.get("persons", float("nan"))}
    for metric, short in METRICS.items():
        published = ev.value(metric, MODEL, PUBLISHED)
        row[f"{short} published"] = published
        row[f"{short} raw model"] = ev.value(metric, MODEL, RAW)
        for baseline in COMPARED:
            best = max(ev.value(metric, baseline, RAW), ev.value(metric, baseline, PUBLISHED))
            row[f"{short} {baseline}"] = best
            row[f"{short} x {baseline}"] = published / best if best else float("nan")
    row["coverage published"] = ev.value("catalogue_coverage", MODEL, PUBLISHED)
    row["gini published"] = ev.value("exposure_gini", MODEL, PUBLISHED)
    row["coverage vanilla"] = ev.value("catalogue_coverage", VANILLA, RAW)
    row["gate"] = gate_verdict(ev)
    return row


def with_history_signal(row: dict, marts: Marts) -> dict:
    ease = history_signal(marts)
    assert ease.pop("EASE persons") == row["evaluated"]  # the same hold-out as the evaluation
    for short in METRICS.values():
        ease[f"{short} EASE alone x global_popularity"] = (
            ease[f"{short} EASE alone"] / row[f"{short} global_popularity"]
        )
    return {**row, **ease}


def misses(row: dict) -> list[str]:
    out = []
    for baseline, goal in GOALS.items():
        for short in METRICS.values():
            ratio = row[f"{short} x {baseline}"]
            if not ratio >= goal:
                out.append(f"{short} {ratio:.2f}x {baseline} (goal {goal}x)")
    return out


def why(row: dict) -> str:
    """What a miss comes from: the model's raw scores against the baselines, and how much
    of the raw figure the ranking rules keep in the published lists."""
    raw = ", ".join(
        f"{short} {row[f'{short} raw model'] / row[f'{short} {b}']:.2f}x {b}"
        for short in METRICS.values()
        for b in GOALS
    )
    kept = ", ".join(
        f"{short} {row[f'{short} published'] / row[f'{short} raw model']:.0%}"
        for short in METRICS.values()
    )
    history = ", ".join(
        f"{short} {row[f'{short} EASE alone x global_popularity']:.2f}x"
        for short in METRICS.values()
    )
    return (
        f"raw model: {raw}; the published lists keep {kept} of the raw model's figure; "
        f"the history alone (EASE, best λ on the hold-out): {history} global_popularity"
    )


def _landing_and_quality(
    config: SampleConfig, root: Path, monkeypatch: pytest.MonkeyPatch, rerun: bool = False
) -> dict:
    started = time.perf_counter()
    landing: Landing = sample_landing(config, root, monkeypatch)
    own = root / "bench-config.toml"
    own.write_text(BENCH_CONFIG)
    monkeypatch.setenv("SKILLPATH_CONFIG", str(own))
    ev = evaluate_landing().protocols[PER_PERSON]
    row = {**landing_profile(landing.marts), **with_history_signal(quality_row(ev), landing.marts)}
    if rerun:
        again = evaluate_landing().protocols[PER_PERSON]
        row["rerun same figures"] = ev.table.equals(again.table)
        row["rerun same verdict"] = gate_verdict(again) == row["gate"]
    row["minutes"] = (time.perf_counter() - started) / 60
    return row


def _format(table: pd.DataFrame) -> str:
    return table.to_string(
        float_format=lambda v: f"{v:.4f}" if abs(v) < 10 else f"{v:,.0f}", max_colwidth=200
    )


PROFILE = ["persons", "items", "mandatory", "person x item", "top chosen reach", "evaluated"]


def _tables(rows: dict[str, dict]) -> str:
    table = pd.DataFrame.from_dict(rows, orient="index")
    figures = [
        f"{short} {name}"
        for short in METRICS.values()
        for name in ("published", "raw model", *COMPARED, "EASE alone")
    ] + ["coverage published", "gini published", "coverage vanilla"]
    ratios = [f"{short} x {b}" for short in METRICS.values() for b in COMPARED] + [
        f"{short} EASE alone x global_popularity" for short in METRICS.values()
    ]
    notes = [
        f"- {name}: misses {', '.join(m)}; {why(row)}"
        for name, row in rows.items()
        if (m := misses(row))
    ]
    met = [name for name, row in rows.items() if not misses(row)]
    gate = "\n".join(f"- {name}: {row['gate']}" for name, row in rows.items())
    return (
        f"The landings (minutes: generate, ingest, dbt, evaluate; noisy, shared cores):\n\n"
        f"```\n{_format(table[[*PROFILE, 'minutes']])}\n```\n\n"
        f"Figures on the per-person hold-out:\n\n```\n{_format(table[figures].T)}\n```\n\n"
        f"Published / baseline:\n\n```\n{_format(table[ratios].T)}\n```\n\n"
        f"Goals: published >= {GOALS[VANILLA]}x vanilla LightFM and >= "
        f"{GOALS['global_popularity']}x global popularity on both metrics.\n\n"
        + "\n".join(notes)
        + (f"\n- met in: {', '.join(met)}" if met else "\n- met in no regime")
        + "".join(
            f"\n- {name}: NDCG@10 published / role popularity "
            f"{row['NDCG@10 x role_popularity']:.2f}x (goal >= {ROLE_GOAL}x)"
            for name, row in rows.items()
            if name == "default"
        )
        + "\n\nThe model-quality gate's decision rule on the same evaluation (the model's "
        "published lists minus the better popularity baseline's published lists, 90 % "
        "paired bootstrap interval; it warns, never blocks, where the published lists are "
        "below a popularity baseline's raw top 10):\n\n" + gate + "\n"
    )


@pytest.mark.slow
def test_bench_quality_by_regime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = os.environ.get("BENCH_REGIMES", ",".join(REGIMES)).split(",")
    rows = {}
    for name in chosen:
        config = SampleConfig(employees=REGIME_EMPLOYEES, regime=name)
        rows[name] = _landing_and_quality(config, tmp_path / name, monkeypatch, name == "default")
    stable = (
        {k: rows["default"][k] for k in ("rerun same figures", "rerun same verdict")}
        if "default" in rows
        else {}
    )
    record(
        "Recommender quality by regime",
        f"Each regime of `skillpath sample --regime` ({REGIME_EMPLOYEES:,} employees, 12 "
        "months, seed 42), ingested and built into marts by the pipeline's assets "
        "(nothing quarantined in any), then the pipeline's `model_evaluation` asset on the "
        "per-person hold-out (each person's latest 20 % of positives; persons with fewer "
        "than 5 excluded; mandatory items neither candidates nor positives). 'published' "
        "is the model's lists after every ranking rule, 'raw model' its scores' top 10; a "
        "baseline counts with the better of its raw and published lists; vanilla LightFM "
        "is the mean over seeds 1-3. 'coverage' is the share of the recommendable "
        "catalogue shown to at least one evaluated person, 'gini' the Gini of exposure "
        "over it. 'EASE alone' is item-item on the history alone (no features, no rules), "
        "with the λ that is best on this hold-out: an optimistic figure of what a person's "
        "own history predicts here (on the public data set of issue #16 it reached 1.75x "
        "global popularity).\n\n"
        + _tables(rows)
        + (
            f"\nThe default regime evaluated twice on the same landing: same figures "
            f"{stable['rerun same figures']}, same gate verdict {stable['rerun same verdict']}.\n"
            if stable
            else ""
        ),
    )
    assert all(stable.values())


@pytest.mark.slow
def test_bench_quality_default_at_10k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = {
        "default": _landing_and_quality(
            SampleConfig(employees=LARGE_EMPLOYEES), tmp_path, monkeypatch
        )
    }
    role = rows["default"]["NDCG@10 x role_popularity"]
    record(
        f"Recommender quality at {LARGE_EMPLOYEES:,} employees",
        f"The default organisation at {LARGE_EMPLOYEES:,} employees, otherwise as in "
        "'Recommender quality by regime'.\n\n" + _tables(rows),
    )
    assert pd.notna(role)  # reported against its goal, not enforced: the table is the result


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


def publication_outcome(settings: Settings) -> str:
    """The latest publication's status and each gate's, from its ``gates.json``."""
    with connect(settings.warehouse, read_only=True) as con:
        try:
            latest = con.execute(
                "select publication_id, status from published.publications"
                " order by publication_id desc limit 1"
            ).fetchone()
        except duckdb.CatalogException:  # the stage stopped before its first publication
            latest = None
    if latest is None:
        return "Nothing was published."
    report = json.loads((settings.reports_dir / latest[0] / "gates.json").read_text())
    gates = ", ".join(f"{g['name']} {g['status']}" for g in report["gates"])
    return (
        f"Publication {latest[1]} ({report['personalised_persons']:,} personalised lists; {gates})."
    )


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
    ingest_sensitive_attributes()
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
        f"{outcome}. {publication_outcome(settings)}",
    )
    assert not ml["killed"] and ml["success"]
    assert peak_gib <= MEMORY_GOAL_GIB
