"""A crash at any point of a publication leaves the current one intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillpath.publish import writer
from skillpath.publish.publication import Candidate, publish
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.fixtures.ml.holdout import passing_evaluation
from tests.fixtures.publish.warehouse import candidate_frame, current, seed_ingestion


def _candidate(settings: Settings, tag: str) -> Candidate:
    return Candidate(
        candidate_frame(settings, k=4, tag=tag),
        model_version="1",
        model_evaluation=passing_evaluation(),
    )


def _no_mlflow(uri: str, version: str | None) -> str:
    return "stub"


@pytest.fixture
def published(skillpath_env: Path) -> tuple[Settings, str]:
    settings = Settings.from_env()
    seed_ingestion(settings)
    first = publish(settings, _candidate(settings, "old"), promote=_no_mlflow)
    assert first.status == "published"
    return settings, first.publication_id


def _state(settings: Settings):
    with connect(settings.warehouse, read_only=True) as con:
        pubs = con.execute(
            "select publication_id, status, message from published.publications "
            "order by created_at, publication_id"
        ).fetchall()
        rows = con.execute(
            "select publication_id, count(*) from published.recommendations group by 1"
        ).fetchall()
        return current(con), pubs, dict(rows)


def test_failure_half_way_through_writing_rows(
    published: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, old_id = published
    before, _, _ = _state(settings)
    monkeypatch.setattr(writer, "BATCH_ROWS", 3)  # 12 rows: 4 batches
    real_insert = writer._insert_batch
    calls = []

    def insert_then_crash(con, batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise OSError("disk full (injected)")
        real_insert(con, batch)

    monkeypatch.setattr(writer, "_insert_batch", insert_then_crash)
    with pytest.raises(OSError, match="injected"):
        publish(settings, _candidate(settings, "new"), promote=_no_mlflow)
    after, pubs, rows = _state(settings)
    assert calls == [3, 3, 3]  # two batches were written before the crash
    assert after.equals(before)
    assert set(after["publication_id"]) == {old_id}
    new_id, status, message = pubs[-1]
    assert new_id != old_id and status == "failed" and "injected" in message
    assert new_id not in rows  # the half-written rows were rolled back


def test_failure_while_switching_keeps_the_current_rows(
    published: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = published
    before, _, _ = _state(settings)
    real_replace = writer._replace_current

    def replace_then_crash(con, publication_id):
        real_replace(con, publication_id)  # current already emptied and refilled
        raise RuntimeError("killed mid-switch (injected)")

    monkeypatch.setattr(writer, "_replace_current", replace_then_crash)
    with pytest.raises(RuntimeError, match="injected"):
        publish(settings, _candidate(settings, "new"), promote=_no_mlflow)
    after, pubs, _ = _state(settings)
    assert after.equals(before)
    assert pubs[-1][1] == "failed"
    assert [p[1] for p in pubs] == ["published", "failed"]


def test_a_process_killed_before_completion_leaves_a_failed_row(
    published: tuple[Settings, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No except clause runs when the process dies; the row written first says failed."""
    settings, _ = published

    def die(*args, **kwargs):
        raise SystemExit("killed (injected)")

    monkeypatch.setattr(writer, "write_recommendations", die)
    with pytest.raises(SystemExit):
        publish(settings, _candidate(settings, "new"), promote=_no_mlflow)
    _, pubs, _ = _state(settings)
    assert pubs[-1][1] == "failed"
    assert pubs[-1][2] == writer.INTERRUPTED
