"""Recommender benchmark on the sample organisation: generated (``skillpath.sample``),
ingested and built into marts by the pipeline's own assets, then the hold-out evaluation
of the model against every baseline (raw scores and published lists, both protocols), the
truth-based outcomes of the published lists, and the time of a whole training run
(evaluation on both protocols + production model) at 10k employees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from ml.data import load_marts
from ml.evaluate import APPROACHES, EvalConfig, evaluate_model, truth_report
from ml.ranking import recommend
from ml.train import TrainConfig, recipe_of, train_on_all
from skillpath.sample import SampleConfig, generate
from skillpath.sample.truth import load_truth
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.bench.report import record
from tests.fixtures.environment import data_environment


def _sample_marts(root: Path, employees: int, monkeypatch: pytest.MonkeyPatch):
    """Marts and truth of a freshly generated sample organisation (ingest + dbt only)."""
    for name, value in data_environment(root, pseudonym_key="bench-key-not-secret").items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    generate(SampleConfig(employees=employees), settings.landing_dir, settings.truth_dir)
    from orchestration.definitions import defs

    marts_keys = dg.AssetSelection.assets(dg.AssetKey("training_dataset")).upstream()
    keys = [
        k for k in marts_keys.resolve(defs.resolve_asset_graph()) if k.path != ["training_dataset"]
    ]
    result = defs.resolve_job_def("pipeline").execute_in_process(asset_selection=keys)
    assert result.success
    with connect(settings.warehouse, read_only=True) as con:
        marts = load_marts(con)
        directory = con.execute(
            "select person_key, employee_id from published.employee_directory"
        ).df()
    truth = load_truth(settings.truth_dir)
    return marts, truth, directory.set_index("person_key")["employee_id"]


@pytest.mark.slow
def test_bench_recommender(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    marts, truth, employee_of = _sample_marts(tmp_path / "org1k", 1000, monkeypatch)
    model, ev = evaluate_model(marts, TrainConfig(), EvalConfig())
    v = ev.value
    lift = v("ndcg_at_10") / v("ndcg_at_10", "role_popularity")
    new_vs_est = v("precision_at_10", slice_name="new_hires") / v(
        "precision_at_10", slice_name="established"
    )

    def outcome(person_keys: np.ndarray, content_ids: np.ndarray):
        ids = employee_of.reindex(person_keys).to_numpy()
        out = truth.expected_outcome(ids, content_ids)
        mastered = truth.mastered(ids, content_ids)
        return out["p_complete"].to_numpy(), out["expected_gain"].to_numpy(), mastered

    # the hold-out's published lists of every approach, under the truth
    lists = ev.gate.lists
    tops = {
        a: lists[lists["approach"] == a]
        .assign(person_key=lambda f: f["person_key"].astype(str))
        .groupby("person_key")["content_id"]
        .apply(lambda c: list(c.astype(str)))
        .to_dict()
        for a in APPROACHES
    }
    report = truth_report(tops, outcome).set_index("approach")
    # what people are shown: the production model's lists after the ranking rules, judged
    # at the end of the history, which is where both the lists and the truth stand
    published = recommend(marts, train_on_all(marts, TrainConfig(), recipe_of(model)))
    shown = truth_report(
        {
            f"published ({kind})": published[published["personalised"] == flag]
            .groupby("person_key")["content_id"]
            .apply(list)
            .to_dict()
            for kind, flag in (("personalised", True), ("role path", False))
        },
        outcome,
    ).set_index("approach")
    published_mastered = float(
        (shown["mastered_share"] * shown["recommendations"]).sum() / shown["recommendations"].sum()
    )

    big, _, _ = _sample_marts(tmp_path / "org10k", 10_000, monkeypatch)
    start = time.perf_counter()
    big_evaluated, big_ev = evaluate_model(big, TrainConfig(), EvalConfig())
    evaluated = time.perf_counter() - start
    big_model = train_on_all(big, TrainConfig(), recipe_of(big_evaluated))
    seconds = time.perf_counter() - start
    production = seconds - evaluated

    big_lift = big_ev.value("ndcg_at_10") / big_ev.value("ndcg_at_10", "role_popularity")
    tables = "\n\n".join(
        f"{name} hold-out ({p.counts['persons']} persons; {dict(p.counts)}):\n\n```\n"
        + p.table[p.table["slice"].isin(["all", "new_hires", "established"])]
        .pivot_table(index=["slice", "metric", "stage"], columns="approach", values="value")
        .round(4)
        .to_string()
        + "\n```"
        for name, p in ev.protocols.items()
    )
    record(
        "Recommender",
        f"Sample organisation (`skillpath sample`, 1000 employees, ingested and built by the "
        f"pipeline); every approach scored on its raw top 10 and on the lists the ranking "
        f"publishes, on both hold-out protocols; mandatory content (the catalogue's "
        f"`mandatory` column) removed for every approach. Blend weights (fitted on "
        f"validation persons inside the history): lightfm {model.params['blend_lightfm']}, "
        f"item-item {model.params['blend_itemitem']}, gap {model.params['blend_gap']}, role "
        f"{model.params['blend_role']}; "
        f"{model.params['epochs_trained']} epochs (gate protocol {ev.gate_protocol}).\n\n"
        f"{tables}\n\n"
        f"- published NDCG@10 model / role popularity ({ev.gate_protocol}): **{lift:.2f}×** "
        f"(goal ≥ 1.3×); at 10k employees **{big_lift:.2f}×**\n"
        f"- published precision@10 new hires / established: **{new_vs_est:.2f}** "
        f"(goal ≥ 0.8)\n"
        f"- truth (published hold-out lists, {ev.gate_protocol}):\n\n"
        f"```\n{report.round(4).to_string()}\n```\n\n"
        f"- the production lists ({len(published)} items for "
        f"{published['person_key'].nunique()} persons), under the truth at the end of the "
        f"history:\n\n```\n{shown.round(4).to_string()}\n```\n\n"
        f"- already mastered in the production top 10: **{published_mastered:.1%}** "
        f"(goal ≤ 5%)\n"
        f"- a whole training run at 10k employees ({big_model.params['n_interactions']} "
        f"interactions): evaluation on both protocols (one-thread evaluation models, vanilla "
        f"LightFM over 3 seeds each) {evaluated:.1f} s, production model with the evaluated "
        f"recipe ({big_model.params['epochs_trained']} epochs, 2 threads) {production:.1f} s, "
        f"**{seconds:.1f} s** in all\n",
    )
    # the goals stated above, after the figures are recorded (a miss still leaves them in
    # docs/benchmarks.md); at 10k employees the model must at least beat its baseline,
    # which is what the publication gate asks (the 1.3× goal is not met there yet)
    assert lift >= 1.3, f"NDCG@10 lift over role popularity {lift:.2f}× < 1.3×"
    assert big_lift > 1.0, "at 10k employees the model does not beat role popularity"
    assert new_vs_est >= 0.8, f"new hires get {new_vs_est:.2f}× the precision of others"
    assert published_mastered <= 0.05, f"{published_mastered:.1%} of published items mastered"


SCALE_CHILD = r"""
import json, re, sys, time
from pathlib import Path
from ml.data import load_marts
from ml.train import TrainConfig, train_on_all
from skillpath.warehouse import connect
with connect(sys.argv[1], read_only=True) as con:
    marts = load_marts(con)
started = time.perf_counter()
model = train_on_all(marts, TrainConfig())
trained = time.perf_counter() - started
persons = list(marts.employees["person_key"].astype(str))
top = model.top_k(persons, 10)
print(json.dumps({
    "train_seconds": trained,
    "score_seconds": time.perf_counter() - started - trained,
    # VmHWM starts afresh at exec; ru_maxrss would inherit the (large) pytest parent's peak
    "peak_gib": int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text())[1])
    / 2**20,
    "persons": len(persons),
    "listed": int((top[:, 0] != None).sum()),  # noqa: E711
    **{k: model.params[k] for k in (
        "n_interactions", "n_items", "itemitem_items", "epochs_trained", "validation_persons",
        "validation_fallback", "itemitem_l2_scale",
    )},
}))
"""
SCALE_GOAL_GIB = 12.0


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("BENCH_L"), reason="large scale: BENCH_L=1")
def test_bench_model_at_100k_employees(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The model stage at 100,000 employees (~7.9M statements) in a fresh process: the
    production fit with validation by persons (LightFM, EASE λ, blend) and every person's
    top 10. Goal: peak resident memory within 12 GiB (the stage was killed at 24 GB)."""
    _sample_marts(tmp_path / "org100k", 100_000, monkeypatch)
    done = subprocess.run(
        [sys.executable, "-c", SCALE_CHILD, os.environ["SKILLPATH_WAREHOUSE"]],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    r = json.loads(done.stdout.strip().splitlines()[-1])
    record(
        "Recommender at 100,000 employees",
        f"`skillpath sample --employees 100000` built into marts by the pipeline; then, in a "
        f"fresh process, `train_on_all(marts, TrainConfig())` (2 threads: validation by "
        f"{r['validation_persons']} persons, {r['epochs_trained']} LightFM epochs, EASE λ "
        f"{r['itemitem_l2_scale']} × mean takers on {r['itemitem_items']:,} of "
        f"{r['n_items']:,} items; fallback: {r['validation_fallback'] or 'none'}) on "
        f"{r['n_interactions']:,} interactions, and the top 10 of all {r['persons']:,} persons "
        f"({r['listed']:,} with a list).\n\n"
        f"| fit s | top 10 of everyone s | peak RSS GiB | goal GiB |\n|---:|---:|---:|---:|\n"
        f"| {r['train_seconds']:.0f} | {r['score_seconds']:.0f} | {r['peak_gib']:.1f} "
        f"| {SCALE_GOAL_GIB:.0f} |\n\nShared machine: timings are noisy.",
    )
    assert r["peak_gib"] <= SCALE_GOAL_GIB
