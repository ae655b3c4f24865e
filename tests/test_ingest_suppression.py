"""Ingestion applies the erasure suppression list before loading: an erased person that a
new delivery still lists (HR export, survey, sensitive attributes, statements by
account, ``mbox`` or ``mbox_sha1sum``) is counted as erased, never loaded nor
quarantined; everyone else is loaded as before."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from skillpath.gdpr import erasure
from skillpath.ingest import ingest_all
from skillpath.ingest.ledger import ensure_ingest_layout
from skillpath.privacy import email_hash, email_sha1sum, mbox_sha1sum_hash, person_key
from skillpath.settings import Settings
from tests.fixtures.environment import data_environment
from tests.fixtures.ingest.kit import LANDING, landing, query
from tests.fixtures.privacy.traces import sql_traces

KEY = b"test-key-not-secret"  # tests/fixtures/environment.py
# E001 manages E002 and E003 and makes statements by account; E002 (Bruno) by account,
# by mbox (in another case than HR's) and, below, by mbox_sha1sum
ERASED = {"E001": "alma.fixture@example.org", "E002": "bruno.testcase@example.org"}
REDELIVERED = {
    "hr/employees.csv": "hr/employees-2024-02.csv",
    "hr/sensitive_attributes.csv": "hr/sensitive_attributes-2024-02.csv",
    "surveys/pulse.csv": "surveys/pulse-2024-02.csv",
    "lms/statements/2024-01.jsonl": "lms/statements/again/2024-01.jsonl",
    "lms/statements/2024-02.json": "lms/statements/again/2024-02.json",
    "lms/statements/2024-03.jsonl.gz": "lms/statements/again/2024-03.jsonl.gz",
}
SHA1_FILE = "lms/statements/again/2024-04.jsonl"


def _traces() -> list[str]:
    out = []
    for employee_id, email in ERASED.items():
        out += [
            person_key(employee_id, KEY),
            email_hash(email, KEY),
            mbox_sha1sum_hash(email_sha1sum(email), KEY),
            f'"{employee_id}"',
        ]
    return out


def _statements(path: Path) -> list[dict]:
    text = (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8").read()
    if path.name.endswith((".json", ".json.gz")):
        document = json.loads(text)
        items = document if isinstance(document, list) else document.get("statements", [])
    else:
        items = []
        for line in text.splitlines():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return [s for s in items if isinstance(s, dict)]


def _of_erased(statement: dict) -> bool:
    """Independently of the loader: the statement's Agent names an erased person."""
    actor = statement.get("actor")
    if not isinstance(actor, dict) or actor.get("objectType", "Agent") != "Agent":
        return False
    account = actor.get("account")
    mbox = actor.get("mbox")
    sha1 = actor.get("mbox_sha1sum")
    return (
        (isinstance(account, dict) and account.get("name") in ERASED)
        or (isinstance(mbox, str) and mbox.lower().removeprefix("mailto:") in ERASED.values())
        or (sha1 in {email_sha1sum(e) for e in ERASED.values()})
    )


def _expected_erased(path: Path) -> int:
    if "statements" in path.parts:
        return sum(map(_of_erased, _statements(path)))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for row in csv.DictReader(fh) if row["employee_id"] in ERASED)


def _sha1_statements(target: Path) -> None:
    """Two statements of Bruno as an LMS sends them without the address, one of E004."""
    template = _statements(LANDING / "lms/statements/2024-03.jsonl.gz")[0]
    lines = []
    for n, email in enumerate((ERASED["E002"], ERASED["E002"], "dario.mock@example.org")):
        statement = {**template, "id": f"6f1c2a10-0004-4a5b-9c00-00000000000{n}"}
        statement["actor"] = {"objectType": "Agent", "mbox_sha1sum": email_sha1sum(email)}
        lines.append(json.dumps(statement))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _organisation(data: Path) -> Settings:
    """The fixture landing in its own data directory (tests/fixtures/environment.py)."""
    settings = Settings.from_mapping(data_environment(data))
    shutil.copytree(LANDING, settings.landing_dir)
    return settings


def _log(settings: Settings, file: str) -> dict:
    columns = ["rows_in", "rows_loaded", "rows_quarantined", "rows_duplicate", "rows_erased"]
    [row] = query(
        settings,
        f"select {', '.join(columns)} from audit.ingest_log where file = ? "
        "order by started_at desc limit 1",
        [file],
    )
    return dict(zip(columns, row, strict=True))


@pytest.fixture(scope="module")
def redelivered(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The fixture landing ingested, E001 and E002 erased, then every export delivered
    again under a new name (and one file of ``mbox_sha1sum`` actors) and ingested. The
    tests only read it."""
    settings = _organisation(tmp_path_factory.mktemp("redelivered") / "data")
    ingest_all(settings)
    assert erasure.erase(settings, list(ERASED)) == 0
    for original, again in REDELIVERED.items():
        (settings.landing_dir / again).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(settings.landing_dir / original, settings.landing_dir / again)
    _sha1_statements(settings.landing_dir / SHA1_FILE)
    ingest_all(settings)
    return settings


def test_a_redelivery_brings_no_erased_person_back(redelivered: Settings) -> None:
    with duckdb.connect(str(redelivered.warehouse), read_only=True) as con:
        assert sql_traces(con, _traces()) == []
        # the re-delivered files were ingested (not skipped as unchanged)
        new = [*REDELIVERED.values(), SHA1_FILE]
        [(files,)] = con.execute(
            "select count(distinct file) from audit.ingest_log where list_contains(?, file)",
            [new],
        ).fetchall()
    assert files == len(new)


def test_their_rows_are_counted_as_erased_and_the_books_balance(redelivered: Settings) -> None:
    for again in [*REDELIVERED.values(), SHA1_FILE]:
        log = _log(redelivered, again)
        expected = _expected_erased(redelivered.landing_dir / again)
        assert expected > 0, again  # every file names an erased person
        assert log["rows_erased"] == expected, again
        assert log["rows_in"] == (
            log["rows_loaded"] + log["rows_quarantined"] + log["rows_duplicate"] + expected
        ), again
    # nothing of theirs in quarantine: what each re-delivered file quarantined is exactly
    # what its original quarantined for the persons who were not erased
    for original, again in REDELIVERED.items():
        first, second = _log(redelivered, original), _log(redelivered, again)
        assert second["rows_in"] == first["rows_in"], again
        assert second["rows_quarantined"] <= first["rows_quarantined"], again
    [(sha1_loaded,)] = query(
        redelivered, "select count(*) from raw.lms_statements where _source_file = ?", [SHA1_FILE]
    )
    assert sha1_loaded == 1  # E004's statement: a person never erased is loaded


def test_a_reference_to_an_erased_manager_is_cleared(redelivered: Settings) -> None:
    rows = query(
        redelivered,
        "select manager_key from raw.hr_employees where person_key = ? and _source_file = ?",
        [person_key("E004", KEY), "hr/employees-2024-02.csv"],
    )
    # E004's manager (E003) was not erased: unchanged, a duplicate of the stored row
    assert rows == []
    managers = query(
        redelivered,
        "select distinct manager_key from raw.hr_employees where person_key = ?",
        [person_key("E003", KEY)],
    )
    assert managers == [(None,)]


def _persons(settings: Settings) -> dict[str, list[tuple]]:
    """Per raw table with persons, each person's rows (without load lineage)."""
    out = {}
    for table, column in (
        ("raw.hr_employees", "person_key"),
        ("restricted.hr_sensitive_attributes", "person_key"),
        ("raw.survey_pulse", "person_key"),
        ("raw.lms_statements", "person_key"),
    ):
        out[table] = sorted(
            query(
                settings,
                f"select {column}, count(*) from {table} where {column} is not null group by 1",
            )
        )
    return out


def test_suppress_only_blocks_a_first_delivery_and_nobody_else(
    skillpath_env: Path, tmp_path: Path
) -> None:
    baseline = _organisation(tmp_path / "baseline")
    ingest_all(baseline)

    settings = Settings.from_env()
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse)) as con:
        ensure_ingest_layout(con)
    assert erasure.erase(settings, ["E002"], suppress_only=True) == 0
    landing(skillpath_env)
    ingest_all(settings)

    gone = person_key("E002", KEY)
    expected = {
        table: [row for row in rows if row[0] != gone] for table, rows in _persons(baseline).items()
    }
    assert any(row[0] == gone for rows in _persons(baseline).values() for row in rows)
    assert _persons(settings) == expected
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert sql_traces(con, [gone, email_hash(ERASED["E002"], KEY), '"E002"']) == []
        [(erased,)] = con.execute("select sum(rows_erased) from audit.ingest_log").fetchall()
    assert erased > 0


def test_an_older_warehouse_gets_the_column_with_zero_for_earlier_deliveries(
    tmp_path: Path,
) -> None:
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute("create schema audit")
        con.execute(
            """create table audit.ingest_log (source varchar, file varchar, checksum varchar,
               rows_in bigint, rows_loaded bigint, rows_quarantined bigint,
               rows_duplicate bigint, status varchar, message varchar,
               started_at timestamp, finished_at timestamp)"""
        )
        con.execute(
            "insert into audit.ingest_log values "
            "('hr_employees', 'hr/employees.csv', 'x', 5, 4, 1, 0, 'partial', '', now(), now())"
        )
        ensure_ingest_layout(con)
        assert con.execute(
            "select rows_in = rows_loaded + rows_quarantined + rows_duplicate + rows_erased, "
            "rows_erased from audit.ingest_log"
        ).fetchall() == [(True, 0)]
