"""Recommender benchmark: hold-out quality against the baselines, truth-based outcomes
and training time at 10k employees (synthetic organisation until the sample
organisation's marts are wired in by the lead)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from ml.evaluate import MODEL, EvalConfig, evaluate_model, truth_report
from ml.train import TrainConfig, train_on_all
from tests.bench.report import record
from tests.fixtures.ml.synthetic import make_org


@pytest.mark.slow
def test_bench_recommender():
    org = make_org(persons=2000, items=300, seed=11)
    model, ev = evaluate_model(org.marts, TrainConfig(), EvalConfig())
    v = ev.value
    lift = v("ndcg_at_10") / v("ndcg_at_10", "role_popularity")
    new_vs_est = v("precision_at_10", slice_name="new_hires") / v(
        "precision_at_10", slice_name="established"
    )
    tops = {a: ev.top_content(a) for a in (MODEL, "role_popularity", "skill_gap")}
    truth = truth_report(tops, org.truth_outcome).set_index("approach")

    big = make_org(persons=10_000, items=1000, seed=12)
    start = time.perf_counter()
    big_model = train_on_all(big.marts, replace(TrainConfig(), num_threads=2))
    seconds = time.perf_counter() - start

    rows = ev.table[ev.table["slice"] == "all"].pivot_table(
        index="metric", columns="approach", values="value"
    )
    record(
        "Recommender",
        f"Synthetic organisation (tests/fixtures/ml), 2000 persons, 300 items, 6-week hold-out:\n\n"
        f"```\n{rows.round(4).to_string()}\n```\n\n"
        f"- NDCG@10 model / role popularity: **{lift:.2f}×** (goal ≥ 1.3×)\n"
        f"- precision@10 new hires / established: **{new_vs_est:.2f}** (goal ≥ 0.8)\n"
        f"- already mastered in top 10 (truth): model {truth.at[MODEL, 'mastered_share']:.1%}, "
        f"role popularity {truth.at['role_popularity', 'mastered_share']:.1%} (goal ≤ 5%)\n"
        f"- expected completion (truth): model {truth.at[MODEL, 'expected_completion']:.3f}, "
        f"role popularity {truth.at['role_popularity', 'expected_completion']:.3f}\n"
        f"- training at 10k employees, 1000 items ({big_model.params['n_interactions']} "
        f"interactions, {big_model.params['epochs_trained']} epochs, 2 threads, incl. early "
        f"stopping and refit): **{seconds:.1f} s**\n",
    )
    assert model.params["epochs_trained"] >= 1
