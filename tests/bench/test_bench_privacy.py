"""Erasure at 10,000 employees: 1,000 persons erased in one request (goal ≤ 30 s), then
the original exports delivered again; no trace of the erased persons in any table or
file under the data directory (the landing directory aside), and no e-mail-shaped string
in the warehouse."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ml.ranking import RankingConfig, recommend
from skillpath.gdpr.erasure import erase, read_id_file
from skillpath.privacy import email_hash, person_key
from skillpath.publish.publication import Candidate, publish
from skillpath.sample import SampleConfig
from skillpath.settings import Settings
from skillpath.warehouse import connect
from tests.bench.landing import sample_landing
from tests.bench.report import record
from tests.fixtures.ml.holdout import passing_evaluation
from tests.fixtures.privacy.traces import file_traces, sql_traces

EMPLOYEES, ERASED, SCANNED = 10_000, 1_000, 50
KEY = "bench-key-not-secret"
EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"


def _warehouse(root: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A 10k sample ingested, its marts built, and two publications of role paths
    (no training: what erasure meets is the tables, not the model)."""
    landing = sample_landing(SampleConfig(employees=EMPLOYEES), root, monkeypatch)
    role_paths = recommend(landing.marts, None, RankingConfig())
    for _ in range(2):
        candidate = Candidate(
            role_paths, None, "bench", passing_evaluation(), role_paths=role_paths
        )
        publish(landing.settings, candidate, promote=lambda uri, v: "bench")
    return landing.settings


def _traces(settings: Settings, hr: pd.DataFrame) -> tuple[list, list]:
    secret = KEY.encode()
    needles = [
        v
        for r in hr.itertuples()
        for v in (
            r.employee_id,
            r.email,
            f"{r.first_name} {r.last_name}",
            person_key(r.employee_id, secret),
            email_hash(r.email, secret),
        )
    ]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        tables = sql_traces(con, needles)
    files = file_traces(settings.data_dir, needles, skip=[settings.landing_dir, settings.truth_dir])
    return tables, files


def _redeliver(settings: Settings) -> None:
    """The original exports again: the HR export as a new file version, every statement
    file under a new name."""
    hr = settings.landing_dir / "hr" / "employees.csv"
    hr.write_bytes(hr.read_bytes().replace(b"\n", b"\r\n"))
    for path in sorted((settings.landing_dir / "lms" / "statements").iterdir()):
        shutil.copy(path, path.with_name("again-" + path.name))


@pytest.mark.slow
def test_bench_erasure_at_10k(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _warehouse(tmp_path / "org10k", monkeypatch)
    hr = pd.read_csv(settings.landing_dir / "hr" / "employees.csv", dtype=str)
    chosen = hr.sample(ERASED, random_state=7)
    ids = tmp_path / "erase.csv"
    chosen[["employee_id"]].to_csv(ids, index=False)
    size = settings.warehouse.stat().st_size

    start = time.perf_counter()
    assert erase(settings, read_id_file(ids), source=ids) == 0
    seconds = time.perf_counter() - start

    scanned = chosen.head(SCANNED)
    tables, files = _traces(settings, scanned)
    assert (tables, files) == ([], [])

    _redeliver(settings)
    from orchestration.runner import run_job

    assert run_job(settings, "ingest").success
    with connect(settings.warehouse, read_only=True) as con:
        erased_rows = dict(
            con.execute(
                "select source, sum(rows_erased) from audit.ingest_log group by source"
            ).fetchall()
        )
        emails = [
            f"{s}.{t}.{c}"
            for s, t, c in con.execute(
                """select table_schema, table_name, column_name from information_schema.columns
                   where data_type = 'VARCHAR'
                     and table_schema not in ('information_schema', 'pg_catalog')"""
            ).fetchall()
            if con.execute(
                f'select count(*) from "{s}"."{t}" where regexp_matches("{c}", ?)', [EMAIL]
            ).fetchall()[0][0]
        ]
    again = _traces(settings, scanned)
    assert again == ([], [])
    assert erased_rows["hr_employees"] == ERASED and erased_rows["lms_statements"] > 0
    assert emails == []
    counted = ", ".join(f"{k} {v:,}" for k, v in sorted(erased_rows.items()) if v)
    record(
        "Erasure",
        f"""
| employees | persons erased | warehouse before | erasure s (goal ≤ 30) | traces |
|---:|---:|---:|---:|---|
| {EMPLOYEES:,} | {ERASED:,} | {size / 2**20:.0f} MiB | {seconds:.1f} | 0 after erasure, \
0 after re-delivery (of {SCANNED} persons scanned) |

Rows counted as erased by the ingestion after the erasure (`audit.ingest_log.rows_erased`;
re-delivered files, and files ingested there for the first time): {counted}.

`skillpath sample --employees {EMPLOYEES:,}`, ingested, marts built, two publications
of role paths; then `skillpath erase --from-file` with {ERASED:,} ids (one transaction,
the exports scrubbed, the warehouse compacted into a fresh file). Traces: the employee
id, e-mail, name, person key and e-mail hash of {SCANNED} of the erased persons, in every
text column of every table and in every file under the data directory except the
landing directory and the generator's truth. Then the HR export delivered again (new
bytes) and every statement file under a new name, ingested: the erased persons' rows are
counted in `audit.ingest_log.rows_erased`, none loaded; no e-mail-shaped string in any
table. Timings share 2 cores with other work: noisy.
""",
    )
    assert seconds <= 30
