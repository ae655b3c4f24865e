"""Privacy on the sample organisation, end to end: after ``skillpath erase`` nothing of the
person is left in any table or file under the data directory (the landing directory is
the source systems' and the truth the generator's), a new delivery of the original
exports brings nothing back, files are owner-only and Dagster keeps nothing
person-level."""

from __future__ import annotations

import csv
import os
import re
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from skillpath.cli import main
from skillpath.privacy import email_hash, email_sha1sum, mbox_sha1sum_hash, person_key
from tests.fixtures.demo import DEMO_KEY, Demo, demo_environment
from tests.fixtures.privacy.traces import file_traces, sql_traces

KEY = DEMO_KEY
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass(frozen=True)
class Person:
    employee_id: str
    email: str
    name: str

    @property
    def traces(self) -> list[str]:
        """Every form the person may take: clear identifiers and their keyed hashes."""
        key = KEY.encode()
        sha1 = email_sha1sum(self.email)
        return [
            self.employee_id,
            self.email,
            self.name,
            person_key(self.employee_id, key),
            email_hash(self.email, key),
            mbox_sha1sum_hash(sha1, key),
            sha1,
        ]


@dataclass
class Org:
    """A copy of an end-to-end demo (tests/fixtures/demo.py) that may be changed."""

    data: Path
    env: dict[str, str]
    person: Person
    inode: int


def _cli(org: Org, *args: str) -> int:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in org.env.items():
            mp.setenv(key, value)
        return main(list(args))


def _busiest(data: Path) -> Person:
    """An active employee with learning history, survey answers and a consent row."""
    with (data / "landing/hr/employees.csv").open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["status"] == "active" and r["email"]]
    text = "".join(p.read_text() for p in (data / "landing/lms/statements").iterdir())
    row = max(rows, key=lambda r: text.count(r["email"]))
    return Person(row["employee_id"], row["email"], f"{row['first_name']} {row['last_name']}")


@pytest.fixture(scope="module")
def demo(demos: Callable[[int], Demo]) -> Demo:
    return demos(7)


@pytest.fixture(scope="module")
def org(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Org:
    data = tmp_path_factory.mktemp("privacy") / "data"
    shutil.copytree(demo.data, data, symlinks=True)
    warehouse = data / "warehouse.duckdb"
    return Org(data, demo_environment(data), _busiest(data), os.stat(warehouse).st_ino)


def _skip(org: Org) -> list[Path]:
    return [org.data / "landing", org.data / "truth"]


def test_the_person_was_everywhere_before(org: Org) -> None:
    with duckdb.connect(str(org.data / "warehouse.duckdb"), read_only=True) as con:
        found = sql_traces(con, org.person.traces)
    assert {"raw.lms_statements.person_key", "published.employee_directory.employee_id"} <= {
        f for f in found
    }


def test_files_are_owner_only(org: Org) -> None:
    assert stat.S_IMODE(org.data.stat().st_mode) == 0o700
    loose = [p for p in org.data.rglob("*") if stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert loose == []


def test_no_email_shaped_string_past_ingestion(org: Org) -> None:
    with duckdb.connect(str(org.data / "warehouse.duckdb"), read_only=True) as con:
        columns = con.execute(
            """select table_schema, table_name, column_name from information_schema.columns
               where data_type = 'VARCHAR'
                 and table_schema not in ('information_schema', 'pg_catalog')"""
        ).fetchall()
        hits = [
            f"{s}.{t}.{c}"
            for s, t, c in columns
            if con.execute(
                f"""select count(*) from "{s}"."{t}" where regexp_matches("{c}", ?)""",
                [EMAIL.pattern],
            ).fetchall()[0][0]
        ]
    assert hits == []


def test_erasure_leaves_no_trace(org: Org) -> None:
    assert _cli(org, "erase", "--employee-id", org.person.employee_id) == 0
    with duckdb.connect(str(org.data / "warehouse.duckdb"), read_only=True) as con:
        assert sql_traces(con, org.person.traces) == []
    assert os.stat(org.data / "warehouse.duckdb").st_ino != org.inode  # rewritten
    assert file_traces(org.data, org.person.traces, skip=_skip(org)) == []
    # idempotent
    assert _cli(org, "erase", "--employee-id", org.person.employee_id) == 0


# the person-keyed sources the demo delivers; their exports come again under new names
REDELIVERED = (
    "hr/employees.csv",
    "hr/sensitive_attributes.csv",
    "hr/personalisation_consent.csv",
    "surveys/pulse.csv",
    "surveys/course_feedback.csv",
    "surveys/skill_assessments.csv",
)


def test_the_next_delivery_of_the_same_exports_brings_nothing_back(org: Org) -> None:
    """After the erasure (above): a full HR export and every statement file again, under
    new names, are ingested and the person stays gone, their rows counted as erased."""
    landing = org.data / "landing"
    again = []
    for name in REDELIVERED:
        source = landing / name
        target = source.with_name(f"{source.stem}-redelivered{source.suffix}")
        shutil.copy(source, target)
        again.append(target)
    statements = landing / "lms/statements"
    (statements / "redelivered").mkdir()
    for source in sorted(p for p in statements.iterdir() if p.is_file()):
        target = statements / "redelivered" / source.name
        shutil.copy(source, target)
        again.append(target)
    assert _cli(org, "ingest") == 0

    with duckdb.connect(str(org.data / "warehouse.duckdb"), read_only=True) as con:
        assert sql_traces(con, org.person.traces) == []
        log = con.execute(
            """select file, rows_in, rows_loaded + rows_quarantined + rows_duplicate
                      + rows_erased, rows_erased, rows_loaded
               from audit.ingest_log where list_contains(?, file)""",
            [[p.relative_to(landing).as_posix() for p in again]],
        ).fetchall()
    assert len(log) == len(again), "every re-delivered file was ingested"
    assert all(rows_in == accounted for _, rows_in, accounted, _, _ in log)
    erased = {file: n for file, _, _, n, _ in log}
    assert erased["hr/employees-redelivered.csv"] == 1
    assert sum(n for file, n in erased.items() if file.startswith("lms/")) > 0
    # everyone else's rows were there already: nothing new loaded, nobody lost
    assert sum(loaded for *_, loaded in log) == 0
    assert file_traces(org.data, org.person.traces, skip=_skip(org)) == []
