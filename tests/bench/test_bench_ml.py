"""Recommender benchmark on the sample organisation: generated (``skillpath.sample``),
ingested and built into marts by the pipeline's own assets, then the hold-out evaluation
of the model against every baseline, the truth-based outcomes of their top 10, and the
time of a whole training run (evaluation model + production model) at 10k employees."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from ml.data import load_marts
from ml.evaluate import LIGHTFM, MODEL, EvalConfig, evaluate_model, truth_report
from ml.ranking import recommend
from ml.train import TrainConfig, recipe_of, train_on_all
from skillpath.sample import SampleConfig, generate
from skillpath.sample.truth import load_truth
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.bench.report import record
from tests.fixtures.environment import data_environment

APPROACHES = (MODEL, LIGHTFM, "role_popularity", "skill_gap", "global_popularity")


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

    tops = {a: ev.top_content(a) for a in APPROACHES}
    report = truth_report(tops, outcome).set_index("approach")
    # what people are shown: the production model's lists after the ranking rules, judged
    # at the end of the history, which is where both the lists and the truth stand
    lists = recommend(marts, train_on_all(marts, TrainConfig(), recipe_of(model)))
    shown = truth_report(
        {
            f"published ({kind})": lists[lists["personalised"] == flag]
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

    table = ev.table[ev.table["slice"].isin(["all", "new_hires", "established"])]
    wide = table.pivot_table(index=["slice", "metric"], columns="approach", values="value")
    big_lift = big_ev.value("ndcg_at_10") / big_ev.value("ndcg_at_10", "role_popularity")
    slices = ev.table.drop_duplicates("slice").set_index("slice")["n_persons"]
    record(
        "Recommender",
        f"Sample organisation (`skillpath sample`, 1000 employees, ingested and built by the "
        f"pipeline), 6-week hold-out; assigned content removed for every approach: "
        f"{ev.holdout.removed}; {slices['all']} persons evaluated "
        f"({slices.get('new_hires', 0)} new hires). Blend weights (fitted on validation weeks "
        f"inside the history): lightfm {model.params['blend_lightfm']}, gap "
        f"{model.params['blend_gap']}, role {model.params['blend_role']}; "
        f"{model.params['epochs_trained']} epochs.\n\n"
        f"```\n{wide.round(4).to_string()}\n```\n\n"
        f"- NDCG@10 model / role popularity: **{lift:.2f}×** (goal ≥ 1.3×); at 10k employees "
        f"**{big_lift:.2f}×**\n"
        f"- precision@10 new hires / established: **{new_vs_est:.2f}** (goal ≥ 0.8)\n"
        f"- truth (top 10 of the evaluated persons):\n\n"
        f"```\n{report.round(4).to_string()}\n```\n\n"
        f"- the published lists (production model, ranking rules, {len(lists)} items for "
        f"{lists['person_key'].nunique()} persons), under the truth at the end of the history:"
        f"\n\n```\n{shown.round(4).to_string()}\n```\n\n"
        f"- already mastered in the published top 10: **{published_mastered:.1%}** (goal ≤ 5%); "
        f"in the model's raw top 10 on the hold-out, before the ranking rules: "
        f"{report.at[MODEL, 'mastered_share']:.1%}\n"
        f"- a whole training run at 10k employees ({big_model.params['n_interactions']} "
        f"interactions, 2 threads): evaluation model with validation {evaluated:.1f} s, "
        f"production model with the evaluated recipe ({big_model.params['epochs_trained']} "
        f"epochs) {production:.1f} s, **{seconds:.1f} s** in all\n",
    )
    # the goals stated above, after the figures are recorded (a miss still leaves them in
    # docs/benchmarks.md); at 10k employees the model must at least beat its baseline,
    # which is what the publication gate asks (the 1.3× goal is not met there yet)
    assert lift >= 1.3, f"NDCG@10 lift over role popularity {lift:.2f}× < 1.3×"
    assert big_lift > 1.0, "at 10k employees the model does not beat role popularity"
    assert new_vs_est >= 0.8, f"new hires get {new_vs_est:.2f}× the precision of others"
    assert published_mastered <= 0.05, f"{published_mastered:.1%} of published items mastered"
