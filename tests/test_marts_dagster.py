"""The marts built by Dagster (dbt build + asset checks) on the hand-made organisation of
tests/fixtures/marts/tiny_org.sql, checked against values computed by hand.

Hand computations (now = 2024-06-30, the latest statement; self-rating inflation 0.5,
the default, since there are fewer than 10 self/test pairs):
- pk_tested: python test 3 -> estimate 3, gap 0.
- pk_selfrated: python self-rating 2 only -> 2 - 0.5 = 1.5, gap 1.5.
- pk_noevidence: nothing on python -> estimate 0, confidence 0, gap 3.
- pk_learner: completed the level-3 python course -> estimate 3, gap 0.
- pk_voided: the same completion, but voided -> gap 3.
Engineering × python: 5 persons, 3 short, mean gap (0 + 1.5 + 3 + 0 + 3) / 5 = 1.5.
Sales has 3 persons (one a leaver, so 2 active): under the minimum group size of 5.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from ml.evidence import EVIDENCE_COLUMNS
from orchestration.runner import failed_checks
from skillpath.vocabulary import CONTENT_FORMATS
from tests.fixtures.marts.build import BuiltMarts, check_count

# docs/architecture.md, "Marts: columns other parts rely on": table -> (grain, columns)
CONTRACT = {
    "dim_employee": (
        ["person_key"],
        "department job_code job_title job_family seniority_level location employment_type "
        "hire_date tenure_months tenure_band is_active is_new_hire opted_out",
    ),
    "dim_content": (
        ["content_id"],
        "title format duration_minutes duration_band level language provider is_active",
    ),
    "dim_skill": (["skill_id"], "name category parent_skill_id"),
    "bridge_content_skill": (["content_id", "skill_id"], "level_taught"),
    "bridge_content_prerequisite": (["content_id", "requires_content_id"], ""),
    "fct_learning_events": (
        ["statement_id"],
        "person_key content_id verb event_at in_catalog score_scaled success completion "
        "duration_seconds progress",
    ),
    "fct_content_engagement": (
        ["person_key", "content_id"],
        "first_event_at last_event_at attempts max_progress is_completed is_passed is_failed "
        "best_score_scaled time_spent_seconds dropped_early rating relevance",
    ),
    "mart_skill_profile": (
        ["person_key", "skill_id"],
        "estimated_level confidence evidence_count last_evidence_at",
    ),
    "mart_skill_gaps": (
        ["person_key", "skill_id"],
        "job_code required_level importance estimated_level confidence gap weighted_gap",
    ),
    "mart_engagement": (
        ["person_key"],
        "learning_hours items_started items_completed completion_rate dropoff_rate "
        "typical_learning_hour pulse_engagement enps "
        + " ".join(f"affinity_{f}" for f in CONTENT_FORMATS),
    ),
    "mart_org_skill_gaps": (["department", "skill_id"], ""),
    "mart_content_effectiveness": (["content_id"], ""),
    "mart_learning_kpis": (["month_start"], ""),
}


@pytest.fixture(scope="module")
def built(tiny_marts: BuiltMarts) -> tuple:
    return tiny_marts.result, tiny_marts.warehouse, tiny_marts.reports_dir


@pytest.fixture(scope="module")
def con(built: tuple) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(built[1]), read_only=True) as connection:
        yield connection


def _one(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> tuple:
    rows = con.execute(sql, list(params)).fetchall()
    assert len(rows) == 1, (sql, rows)
    return rows[0]


def test_build_succeeds_with_every_dbt_test_as_a_passing_asset_check(built: tuple) -> None:
    result = built[0]
    assert result.success
    assert check_count(result) > 100
    assert failed_checks(result) == []
    keys = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"marts/mart_skill_gaps", "marts/fct_learning_events", "org_skill_gap_heatmap"} <= keys


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_contract_columns_and_grain(con: duckdb.DuckDBPyConnection, table: str) -> None:
    grain, columns = CONTRACT[table]
    present = {row[0] for row in con.execute(f"describe marts.{table}").fetchall()}
    assert set(grain) | set(columns.split()) <= present
    keys = ", ".join(grain)
    duplicates = con.execute(
        f"select {keys} from marts.{table} group by {keys} having count(*) > 1"
    ).fetchall()
    assert duplicates == []


def test_gaps_follow_the_evidence(con: duckdb.DuckDBPyConnection) -> None:
    gaps = dict(
        con.execute(
            "select person_key, gap from marts.mart_skill_gaps where skill_id = 'python'"
        ).fetchall()
    )
    assert gaps == pytest.approx(
        {"pk_tested": 0, "pk_learner": 0, "pk_selfrated": 1.5, "pk_noevidence": 3, "pk_voided": 3}
    )
    # only a (corrected) self-rating below the requirement still beats no evidence at all
    assert 0 < gaps["pk_selfrated"] < gaps["pk_noevidence"]
    level, confidence, weighted = _one(
        con,
        "select estimated_level, confidence, weighted_gap from marts.mart_skill_gaps "
        "where person_key = 'pk_noevidence' and skill_id = 'python'",
    )
    assert (level, confidence, weighted) == (0, 0, 3.0)  # importance 5 of 5


def test_confidence_ranks_tests_above_self_ratings(con: duckdb.DuckDBPyConnection) -> None:
    confidence = dict(
        con.execute(
            "select person_key, confidence from marts.mart_skill_profile where skill_id = 'python'"
        ).fetchall()
    )
    assert set(confidence) == {"pk_tested", "pk_selfrated", "pk_learner"}
    assert confidence["pk_tested"] > confidence["pk_learner"] > confidence["pk_selfrated"] > 0


def test_skill_evidence_has_one_row_per_piece_of_evidence(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """fct_skill_evidence has the columns ml.evidence reads (docs/architecture.md); the
    python evidence of the hand computations (module docstring), self-rating corrected,
    the voided completion absent."""
    present = {row[0] for row in con.execute("describe marts.fct_skill_evidence").fetchall()}
    assert set(EVIDENCE_COLUMNS) <= present
    rows = con.execute(
        "select person_key, evidence_kind, reported_level, level from marts.fct_skill_evidence "
        "where skill_id = 'python' order by person_key"
    ).fetchall()
    assert rows == [
        ("pk_learner", "learning", 3.0, 3.0),
        ("pk_selfrated", "assessment", 2.0, 1.5),
        ("pk_tested", "assessment", 3.0, 3.0),
    ]
    (weightless,) = con.execute(
        "select count(*) from marts.fct_skill_evidence where reliability is null or level is null"
    ).fetchone()
    assert weightless == 0


def test_voided_statements_do_not_count(con: duckdb.DuckDBPyConnection) -> None:
    ids = {
        r[0] for r in con.execute("select statement_id from marts.fct_learning_events").fetchall()
    }
    assert "s05" not in ids  # voided completion
    assert "s06" not in ids  # the voiding statement itself
    assert len(ids) == 12
    completed, dropped = _one(
        con,
        "select is_completed, dropped_early from marts.fct_content_engagement "
        "where person_key = 'pk_voided'",
    )
    assert (completed, dropped) == (False, True)


def test_out_of_catalogue_activity_is_an_event_but_not_engagement(
    con: duckdb.DuckDBPyConnection,
) -> None:
    assert _one(
        con, "select in_catalog from marts.fct_learning_events where statement_id = 's11'"
    ) == (False,)
    assert _one(
        con, "select count(*) from marts.fct_content_engagement where person_key = 'pk_tested'"
    ) == (0,)


def test_engagement_of_one_item(con: duckdb.DuckDBPyConnection) -> None:
    row = _one(
        con,
        "select attempts, max_progress, is_completed, is_passed, is_failed, time_spent_seconds, "
        "rating, relevance from marts.fct_content_engagement where person_key = 'pk_learner'",
    )
    assert row == (1, 1.0, True, False, False, 3600.0, 5, 4)
    # two launches, the second failed: a completion (attended) that is no pass
    assert _one(
        con,
        "select attempts, is_completed, is_failed, best_score_scaled "
        "from marts.fct_content_engagement where person_key = 'pk_seller'",
    ) == (2, True, True, 0.3)


def test_employees_take_their_latest_snapshot(con: duckdb.DuckDBPyConnection) -> None:
    rows = {
        row[0]: row[1:]
        for row in con.execute(
            "select person_key, department, is_active, is_new_hire, opted_out, tenure_band "
            "from marts.dim_employee"
        ).fetchall()
    }
    assert len(rows) == 8
    assert rows["pk_tested"] == ("Engineering", True, False, False, "5y+")
    assert rows["pk_voided"] == ("Engineering", True, True, False, "0-3m")  # hired 2024-05-15
    assert rows["pk_optout"][3] is True
    assert rows["pk_leaver"][1] is False


def test_org_gaps_suppress_small_groups(con: duckdb.DuckDBPyConnection) -> None:
    row = _one(
        con,
        "select is_suppressed, headcount, persons_short, mean_gap from marts.mart_org_skill_gaps "
        "where department = 'Engineering' and skill_id = 'python'",
    )
    assert row == (False, 5, 3, pytest.approx(1.5))
    assert _one(
        con,
        "select is_suppressed, headcount, persons_short, mean_gap, learning_debt_index "
        "from marts.mart_org_skill_gaps where department = 'Sales'",
    ) == (True, None, None, None, None)


def test_person_engagement(con: duckdb.DuckDBPyConnection) -> None:
    row = _one(
        con,
        "select items_started, items_completed, completion_rate, dropoff_rate, "
        "typical_learning_hour, pulse_engagement, enps from marts.mart_engagement "
        "where person_key = 'pk_selfrated'",
    )
    assert row == (1, 0, 0.0, 1.0, 10, 2.0, 5)
    # video: the population completed 1 of 2 -> prior 0.5; pk_selfrated 0 of 1 -> (0 + 1) / 3
    assert _one(
        con, "select affinity_video from marts.mart_engagement where person_key = 'pk_selfrated'"
    )[0] == pytest.approx(1 / 3)


def test_monthly_kpis(con: duckdb.DuckDBPyConnection) -> None:
    june = _one(
        con,
        "select active_learners, enps, share_required_skills_met, new_hires "
        "from marts.mart_learning_kpis where month_start = date '2024-06-01'",
    )
    # promoters (9) and detractors (5) cancel out; 3 of 12 person x skill requirements met
    assert june == (5, 0.0, 0.25, 0)
    may = _one(
        con, "select new_hires from marts.mart_learning_kpis where month_start = date '2024-05-01'"
    )
    assert may == (1,)


def test_models_carry_row_counts_and_test_outcomes(
    built: tuple, con: duckdb.DuckDBPyConnection
) -> None:
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in built[0].get_asset_materialization_events()
    }
    for table in ("dim_employee", "mart_skill_gaps", "fct_learning_events"):
        (rows,) = con.execute(f"select count(*) from marts.{table}").fetchone()
        assert metadata[f"marts/{table}"]["dagster/row_count"].value == rows
    employee = metadata["marts/dim_employee"]
    assert employee["dbt_tests_passed"].value >= 3 and employee["dbt_tests_failed"].value == 0
    # views are not counted (that would run their query)
    views = [k for k in metadata if k.startswith("staging/")]
    assert views and not [k for k in views if "dagster/row_count" in metadata[k]]
