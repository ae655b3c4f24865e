"""Every CSV row counted from the bytes (records.py): an over-long line, undecodable
bytes, a broken quote or binary garbage is quarantined as that row, with a reason that
names the line and the column and quotes nothing of it; a file that cannot be read at
all says why. Rows of the reliability issue's table are named in the docstrings."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from skillpath.ingest import ingest_all, ingest_source, records
from skillpath.ingest.quality import quarantine_share
from skillpath.ingest.records import read_csv_records
from skillpath.ingest.runner import prepare_connection
from skillpath.warehouse import connect
from tests.fixtures.ingest.kit import landing, query

LIMIT = 1 << 20


def _read(tmp_path: Path, data: bytes, limit: int = LIMIT):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    return read_csv_records(path, limit, "x.csv")


def _good(parsed) -> list[tuple[int, list[str]]]:
    """The good records as (first line, values), read back from their canonical CSV."""
    rows = csv.reader(io.StringIO(b"\n".join(parsed.good).decode(), newline=""))
    return [(int(row[0]), row[1:]) for row in rows]


@hsettings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.lists(
            st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8),
            min_size=3,
            max_size=3,
        ),
        max_size=12,
    ),
    crlf=st.booleans(),
    block=st.sampled_from([records._BLOCK, 7, 64]),
)
def test_well_formed_csv_reads_as_pythons_csv_writer_wrote_it(tmp_path_factory, rows, crlf, block):
    """Whatever csv.writer writes (quotes, commas, line breaks inside values) comes back
    value for value, one record per row written, wherever the blocks the file is read
    in happen to end."""
    if not crlf:  # the writer leaves a lone CR unquoted unless it is in the line terminator
        rows = [[v.replace("\r", "") for v in row] for row in rows]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n" if crlf else "\n").writerows([["a", "b", "c"], *rows])
    default, records._BLOCK = records._BLOCK, block
    try:
        parsed = _read(tmp_path_factory.mktemp("w"), out.getvalue().encode())
    finally:
        records._BLOCK = default
    assert [values for _, values in _good(parsed)] == rows and not parsed.bad


def test_records_span_lines_and_keep_their_first_line_number(tmp_path: Path) -> None:
    data = b'h1,h2\r\na,"multi\r\nline"\r\n\r\nb,"say ""hi"""\r\nc,5" screen\r\n'
    parsed = _read(tmp_path, data)
    assert _good(parsed) == [
        (2, ["a", "multi\r\nline"]),
        (5, ["b", 'say "hi"']),
        (6, ["c", '5" screen']),  # a quote inside an unquoted value is a character
    ]


@pytest.mark.parametrize("block", [records._BLOCK, 5])
def test_broken_records_are_counted_with_their_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    monkeypatch.setattr(records, "_BLOCK", block)
    data = (
        b"\xef\xbb\xbfid,name\n"
        b"1,ok\n"
        b"2,Jos\xe9\n"  # latin-1
        b"3,a,b\n"  # one value too many
        b'4,"x"y\n'  # text after a closing quote
        b"5,nul\x00byte\n" + b"6," + b"z" * 2000 + b"\n"
        b'7,"never closed\n8,swallowed\n'
    )
    parsed = _read(tmp_path, data, limit=1024)
    assert parsed.header == ["id", "name"]
    outcome = sorted(
        [(n, "ok") for n, _ in _good(parsed)] + [(r.line, r.problem.code) for r in parsed.bad]
    )
    assert outcome == [
        (2, "ok"),
        (3, "undecodable"),
        (4, "malformed_row"),
        (5, "malformed_row"),
        (6, "undecodable"),  # a NUL byte: binary data
        (7, "line_too_long"),
        (8, "malformed_row"),  # the open quote runs to the end of the file
    ]
    undecodable = parsed.bad[0].problem.message
    assert "column name" in undecodable and "byte 6" in undecodable
    for record in parsed.bad:
        assert "Jos" not in record.problem.message and "zzz" not in record.problem.message


def test_binary_garbage_is_an_unreadable_file_with_its_lines_counted(tmp_path: Path) -> None:
    rng = random.Random(7)
    garbage = bytes(rng.randrange(256) for _ in range(20_000))
    parsed = _read(tmp_path, garbage)
    assert parsed.header_problem is not None and "not UTF-8" in parsed.header_problem
    lines = [line for line in garbage.split(b"\n")[1:] if line.strip()]
    assert parsed.rows_in <= len(lines) and parsed.rows_in > 0


def _assessments(n: int) -> str:
    rows = [
        f"A{i},E00{1 + i % 2},python,{1 + i % 5},self,2024-0{1 + i % 9}-01T10:00:00Z\n"
        for i in range(n)
    ]
    return "assessment_id,employee_id,skill_id,level,source,assessed_at\n" + "".join(rows)


def test_a_50_mb_line_at_the_end_is_a_quarantined_row(skillpath_env: Path) -> None:
    """Table row 5: a 50 MB line at the end of skill_assessments.csv (7,786 rows) was
    lost: rows_in 7,785, status loaded."""
    settings = landing(skillpath_env, ("hr/employees.csv",))
    path = settings.landing_dir / "surveys/skill_assessments.csv"
    path.parent.mkdir(parents=True)
    path.write_text(_assessments(7_785) + "A-x,E001,python,3,self," + "9" * 50_000_000 + "\n")
    results = {r.table: r for r in ingest_all(settings)}
    [file] = results["survey_skill_assessments"].files
    assert (file.rows_in, file.rows_loaded, file.rows_quarantined) == (7_786, 7_785, 1)
    assert file.status == "partial"
    [(line, code, reason)] = query(
        settings,
        "select row_number, reason_code, reason from audit.quarantine "
        "where source = 'survey_skill_assessments'",
    )
    assert (line, code) == (7_787, "line_too_long")
    assert "50,000,0" in reason and "max_record_bytes" in reason


def test_garbage_or_a_huge_line_in_a_small_csv_states_the_real_cause(skillpath_env: Path) -> None:
    """Table row 6: binary garbage or a 50 MB line in a small CSV failed with a masked
    'TransactionException ... report this as a bug' and rows_in 0."""
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    catalog = settings.landing_dir / "lms/catalog.csv"
    catalog.write_bytes(catalog.read_bytes() + b"x" * 50_000_000 + b"\n")
    rng = random.Random(1)
    (settings.landing_dir / "hr/roles.csv").write_bytes(
        bytes(rng.randrange(256) for _ in range(5_000))
    )
    results = {r.table: r for r in ingest_all(settings)}
    [catalog_file] = results["lms_catalog"].files
    assert (catalog_file.rows_in, catalog_file.rows_loaded) == (5, 4)
    assert catalog_file.reasons == {"line_too_long": 1}
    [roles] = results["hr_roles"].files
    assert roles.status == "failed" and roles.rows_in == roles.rows_quarantined > 0
    assert "not UTF-8" in roles.message and "export it again" in roles.message
    messages = " ".join(m for (m,) in query(settings, "select message from audit.ingest_log"))
    assert "Transaction" not in messages and "bug" not in messages
    with connect(settings.warehouse) as con:
        prepare_connection(con, settings)
        verdict = quarantine_share(con, "lms_catalog", 0.05)
    assert not verdict.passed and "line_too_long" in verdict.description


def test_no_personal_data_in_any_message(skillpath_env: Path) -> None:
    """Values that land in the wrong column (a shifted export) or fail a check are never
    quoted: the message names the line and the column."""
    settings = landing(skillpath_env, ("lms/catalog.csv",))
    hr = settings.landing_dir / "hr/employees.csv"
    hr.parent.mkdir(parents=True, exist_ok=True)
    hr.write_text(
        "employee_id,email,first_name,last_name,department,job_code,manager_id,location,"
        "hire_date,employment_type,status,leave_date\n"
        "E001,alma@example.org,Alma,Zweig,Sales,SAL1,,Lisbon,2020-01-01,full_time,active,\n"
        "E002,bert@example.org,Bert,Yilmaz,Sales,SAL1,,Lisbon,Yilmaz,Bert,Yilmaz,\n"
        "E003,cleo@example.org,Cleo,Xu,Sales,SAL1,,Lisbon,2020-01-01,Xu,active,Cleo\n"
        "E004,dana@example.org,Dana,Wolf\n"
    )
    ingest_source(settings, "hr_employees")
    text = " ".join(
        m
        for (m,) in query(settings, "select reason from audit.quarantine")
        + query(settings, "select message from audit.ingest_log")
    )
    for personal in ("Yilmaz", "Bert", "Xu", "Cleo", "Wolf", "Dana", "example.org", "E00"):
        assert personal not in text, personal
