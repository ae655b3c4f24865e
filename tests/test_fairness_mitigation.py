"""The exposure re-ranking (``ml.mitigation``) and its place in a publication: with
``fairness.mitigation`` on, a candidate steered away from advanced content for one group
comes out closer to parity, no list loses more relevance than the bound allows (checked
here from the pool's scores, not from the re-ranking's own figures), and the before/after
is stored for the report and MLflow; off — the default — it changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from ml import tracking
from ml.mitigation import discount, rerank_for_exposure
from skillpath.publish.fairness import fairness_tables
from skillpath.publish.publication import Candidate, publish
from skillpath.reports.compliance import write_publication_report
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.environment import data_environment
from tests.fixtures.publish import fairness_org

K = 10


def _relevance_kept(pool: pd.DataFrame, lists: pd.DataFrame) -> pd.Series:
    """Per person: discounted relevance of the list over that of the pool's top k."""
    weights = discount(K)

    def dcg(frame: pd.DataFrame) -> pd.Series:
        frame = frame.sort_values(["person_key", "rank"])
        position = frame.groupby("person_key").cumcount().to_numpy()
        value = frame["score"].clip(lower=0).to_numpy() * weights[position]
        return pd.Series(value, index=frame["person_key"].to_numpy()).groupby(level=0).sum()

    return dcg(lists) / dcg(pool[pool["rank"] <= K])


def _synthetic(seed: int, demote: float = 0.15, n: int = 600):
    rng = np.random.default_rng(seed)
    items = 80
    flags = pd.DataFrame(
        {
            "content_id": [f"c{i:02d}" for i in range(items)],
            "advanced": np.arange(items) < 25,
            "leadership": np.arange(items) % 7 == 0,
        }
    )
    persons = pd.DataFrame(
        {
            "person_key": [f"{i:064x}" for i in range(n)],
            "gender": rng.choice(["female", "male"], n),
            "stratum": rng.choice(["sales × 2", "sales × 4", "finance × 3"], n),
            "personalised": np.arange(n) % 17 != 0,
        }
    )
    pool = fairness_org.steered_pool(persons, flags, demote, seed)
    groups = persons.set_index("person_key")[["gender"]]
    return pool, flags, groups, persons.set_index("person_key")["stratum"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_steered_disparity_shrinks_within_the_relevance_bound(seed: int) -> None:
    pool, flags, groups, strata = _synthetic(seed)
    result = rerank_for_exposure(pool, flags, groups, strata, K, max_relevance_loss=0.05)
    row = result.disparity.set_index(["metric", "group"]).loc[("exposure_advanced", "female")]
    assert row["ratio_before"] < 0.9, "the fixture should be steered"
    assert abs(1 - row["ratio_after"]) < abs(1 - row["ratio_before"]) / 2
    lists = result.lists
    assert (lists.groupby("person_key").size() == K).all()
    ranks = lists.groupby("person_key")["rank"].apply(list)
    assert all(r == list(range(1, K + 1)) for r in ranks)
    pairs = set(zip(pool["person_key"], pool["content_id"], strict=True))
    assert set(zip(lists["person_key"], lists["content_id"], strict=True)) <= pairs
    kept = _relevance_kept(pool, lists)
    assert kept.min() >= 0.95 - 1e-9
    assert result.figures["persons_changed"] > 0
    # the items keep the ranking's order: scores never rise down a list
    rising = lists.groupby("person_key")["score"].apply(lambda s: (s.diff().dropna() > 0).any())
    assert not rising.any()


def test_role_paths_and_a_zero_budget_are_left_as_ranked() -> None:
    pool, flags, groups, strata = _synthetic(0)
    untouched = pool[pool["rank"] <= K].reset_index(drop=True)
    frozen = rerank_for_exposure(pool, flags, groups, strata, K, max_relevance_loss=0.0)
    pd.testing.assert_frame_equal(frozen.lists.reset_index(drop=True), untouched)
    moved = rerank_for_exposure(pool, flags, groups, strata, K, max_relevance_loss=0.05)
    opted = pool.loc[~pool["personalised"], "person_key"].unique()
    mine = moved.lists[moved.lists["person_key"].isin(opted)].reset_index(drop=True)
    theirs = untouched[untouched["person_key"].isin(opted)].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs)


def test_without_groups_nothing_moves() -> None:
    pool, flags, _, strata = _synthetic(0)
    nobody = pd.DataFrame(index=strata.index)
    result = rerank_for_exposure(pool, flags, nobody, strata, K, max_relevance_loss=0.05)
    expected = pool[pool["rank"] <= K].reset_index(drop=True)
    pd.testing.assert_frame_equal(result.lists.reset_index(drop=True), expected)
    assert result.figures["persons_changed"] == 0


# --- in a publication ---------------------------------------------------------------------


def _settings(skillpath_env: Path, mitigation: bool | None) -> Settings:
    env = data_environment(skillpath_env)
    if mitigation is not None:
        config = skillpath_env.parent / "mitigation.toml"
        config.write_text(f"[fairness]\nmitigation = {str(mitigation).lower()}\n")
        env["SKILLPATH_CONFIG"] = str(config)
    return Settings.from_mapping(env)


def _org_pool(settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    org = fairness_org.build(settings, persons=400, steer=0.0)
    with connect(settings.warehouse, read_only=True) as con:
        content = con.execute("select content_id, level from marts.dim_content").df()
        people = con.execute("select person_key, opted_out from marts.dim_employee").df()
    flags = content.assign(advanced=content["level"] >= 4)
    persons = pd.DataFrame(
        {
            "person_key": org.keys,
            "gender": org.gender,
            "personalised": ~people.set_index("person_key").loc[org.keys, "opted_out"].to_numpy(),
        }
    )
    pool = fairness_org.steered_pool(persons, flags, demote=0.3, seed=5)
    pool["reasons"], pool["reason_text"] = "[]", "test"
    return org.candidate, pool


def _publish(settings: Settings, lists: pd.DataFrame, run_id: str | None = None):
    """Publish ``lists``; the publication, its fairness gate, its published rows (in rank
    order) and its stored fairness tables."""
    evaluation = fairness_org.evaluation(lists[lists["rank"] <= K], run_id)
    result = publish(settings, Candidate(lists, "1", None, evaluation, "t"), promote=lambda *_: "")
    gate = next(g for g in result.gates if g.name == "fairness")
    with connect(settings.warehouse, read_only=True) as con:
        published = con.execute(
            "select person_key, rank, content_id, score from published.recommendations "
            "where publication_id = ? order by person_key, rank",
            [result.publication_id],
        ).df()
        tables = fairness_tables(con, result.publication_id)
    return result, gate, published, tables


def test_mitigation_on_re_ranks_the_candidate_before_the_gate(skillpath_env: Path) -> None:
    settings = _settings(skillpath_env, mitigation=True)
    _, pool = _org_pool(settings)
    tracking.configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    with tracking.start_run() as run:
        pass
    result, gate, published, tables = _publish(settings, pool, run.info.run_id)
    assert "after exposure re-ranking" in gate.message
    assert gate.figures["mitigation"]["relevance_kept_min"] >= 0.95 - 1e-9
    assert (published.groupby("person_key").size() == K).all()
    assert _relevance_kept(pool, published).min() >= 0.95 - 1e-9
    before = tables["fairness_mitigation"].set_index(["metric", "attribute", "group"])
    female = before.loc[("exposure_advanced", "gender", "female")]
    audited = tables["fairness_groups"].set_index(["source", "metric", "attribute", "group"])
    after = audited.loc[("candidate", "exposure_advanced", "gender", "female"), "ratio"]
    assert female["ratio_before"] < 0.9
    assert abs(1 - after) < abs(1 - female["ratio_before"]) / 2  # what the gate audited
    html = write_publication_report(settings, result.publication_id).read_text()
    # before and after side by side on the training run
    logged = MlflowClient(settings.mlflow_tracking_uri).get_run(run.info.run_id).data.metrics
    assert logged["fairness.unmitigated/exposure_advanced.gender.ratio"] < 0.9
    assert (
        logged["fairness.candidate/exposure_advanced.gender.ratio"]
        > (logged["fairness.unmitigated/exposure_advanced.gender.ratio"])
    )
    assert logged["fairness.mitigation/persons_changed"] > 0
    assert logged["fairness.mitigation/relevance_kept_min"] >= 0.95 - 1e-9
    section = html[html.index("Exposure re-ranking (mitigation)") :]
    assert f"{female['ratio_before']:.2f}" in section and "ratio after" in section


def test_off_by_default_the_candidate_is_published_as_ranked(skillpath_env: Path) -> None:
    settings = _settings(skillpath_env, mitigation=None)
    assert settings.config.fairness.mitigation is False
    candidate, _ = _org_pool(settings)
    result, gate, published, tables = _publish(settings, candidate)
    columns = ["person_key", "rank", "content_id"]
    expected = candidate.sort_values(["person_key", "rank"])[columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(published[columns], expected, check_dtype=False)
    assert tables["fairness_mitigation"].empty and tables["fairness_mitigation_summary"].empty
    assert "mitigation" not in gate.figures
    html = write_publication_report(settings, result.publication_id).read_text()
    assert "Exposure re-ranking (mitigation) is switched off" in html


def test_the_pipeline_ranks_a_longer_pool_only_when_re_ranking_follows(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``candidate_recommendations`` asset: 10 per person by default, the top
    ``mitigation_candidates`` with the switch on — and the publication keeps 10."""
    import dagster as dg

    from orchestration.assets import ml as ml_assets
    from orchestration.assets.publish import candidate_recommendations, publication
    from orchestration.io_manager import WarehouseIOManager
    from orchestration.resources import SkillpathResource
    from tests.fixtures.ml.synthetic import make_org, write_marts

    config = skillpath_env.parent / "pipeline.toml"
    monkeypatch.setenv("SKILLPATH_CONFIG", str(config))
    org = make_org(persons=120, items=60, seed=3)
    assets = [
        ml_assets.training_dataset,
        ml_assets.model_evaluation,
        ml_assets.recommender_model,
        candidate_recommendations,
        publication,
    ]
    sizes = {}
    for mitigation in (False, True):
        config.write_text(
            '[evaluation]\nprotocols = ["per_person"]\nvanilla_seeds = []\n'
            f"[fairness]\nmitigation = {str(mitigation).lower()}\n"
        )
        settings = Settings.from_env()
        write_marts(org.marts, settings.warehouse)
        skillpath = SkillpathResource()
        run = dg.materialize(
            assets,
            resources={
                "skillpath": skillpath,
                "io_manager": WarehouseIOManager(skillpath=skillpath),
            },
        )
        assert run.success
        lists = run.output_for_node("candidate_recommendations")
        personal = lists[lists["personalised"]].groupby("person_key").size()
        sizes[mitigation] = int(personal.max())
        publication_id = run.output_for_node("publication")["publication_id"]
        with connect(settings.warehouse, read_only=True) as con:
            published = con.execute(
                "select count(*) from published.recommendations where publication_id = ? "
                "group by person_key order by 1 desc limit 1",
                [publication_id],
            ).fetchone()[0]
            summary = fairness_tables(con, publication_id)["fairness_mitigation_summary"]
        assert published == K
        assert summary.empty != mitigation
    assert sizes == {False: K, True: settings.config.fairness.mitigation_candidates}
