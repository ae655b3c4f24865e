"""Broken statement exports: every statement counted from the bytes (census.py) or as
the elements that can be delimited (salvage.py), the bad ones quarantined as
themselves, the good ones loaded; limits (size, depth, plausible time) as rules. Rows of
the reliability issue's table are named in the docstrings."""

from __future__ import annotations

import gzip
import json
import random
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from skillpath.ingest import ingest_all
from skillpath.ingest.xapi import census
from tests.fixtures.ingest.kit import landing, query


def statement(n: int, **extra) -> dict:
    return {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "actor": {"account": {"homePage": "https://hr.example.org", "name": "E001"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "https://lms.example.org/content/sql-joins"},
        "timestamp": "2024-05-01T10:00:00Z",
        **extra,
    }


def ingest(data: Path, name: str, content: bytes):
    settings = landing(data, ("hr/employees.csv", "lms/catalog.csv"))
    folder = settings.landing_dir / "lms/statements"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    [result] = [r for r in ingest_all(settings) if r.table == "lms_statements"]
    [file] = result.files
    reasons = dict(
        query(
            settings,
            "select row_number, reason_code from audit.quarantine where file = ?",
            [f"lms/statements/{name}"],
        )
    )
    return settings, file, reasons


def _named(n: int) -> dict:
    """A statement whose display text is not ASCII (é): it differs in Latin-1."""
    return statement(
        n, verb={"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"fr-FR": "terminé"}}
    )


@pytest.mark.parametrize("count", [10, 30])
@pytest.mark.parametrize("shape", ["latin1_lines", "cut_gzip", "cut_array", "latin1_array"])
def test_broken_exports_count_every_statement(skillpath_env: Path, shape: str, count: int):
    """Table row 7: broken xAPI files (latin-1, truncated gzip, broken array) holding 10
    and 30 statements gave clear messages, but rows_in = 1."""
    statements = [statement(i) if i % 3 else _named(i) for i in range(count)]
    if shape == "latin1_lines":
        name = "x.jsonl"
        content = "\n".join(json.dumps(s, ensure_ascii=False) for s in statements).encode("latin-1")
        expected = (count, count - (count + 2) // 3)  # the é lines are not UTF-8
    elif shape == "cut_gzip":
        name = "x.jsonl.gz"
        full = gzip.compress("\n".join(json.dumps(s) for s in statements).encode())
        content = full[: len(full) * 2 // 3]
        readable = zlib.decompressobj(wbits=31).decompress(content)
        lines = [line for line in readable.split(b"\n") if line.strip()]
        expected = (len(lines), len(lines) - 1)  # the cut last line cannot load
    elif shape == "cut_array":
        name = "x.json"
        text = json.dumps(statements, indent=2)
        content = text[: len(text) * 2 // 3].encode()
        complete = content.decode().count("\n  },") + content.decode().count("\n  }\n")
        expected = (complete + 1, complete)  # the element it ends inside is one bad row
    else:
        name = "x.json"
        content = json.dumps(statements, ensure_ascii=False).encode("latin-1")
        expected = (count, count - (count + 2) // 3)
    _, file, reasons = ingest(skillpath_env, name, content)
    assert (file.rows_in, file.rows_loaded) == expected
    assert file.balanced and file.rows_in == file.rows_loaded + file.rows_quarantined
    assert len(reasons) == file.rows_quarantined
    if shape.startswith("latin1"):
        assert set(reasons.values()) == {"undecodable"}
    if shape == "cut_gzip":
        assert "gzip" in file.message and "cut off" in file.message


def test_a_statement_nested_5000_levels_deep_is_one_quarantined_row(skillpath_env: Path):
    """Table row 8: a statement nested 5,000 levels deep without an id raised a
    RecursionError; the whole file became ingest_error, rows_in 0."""
    deep = statement(
        1, result={"extensions": {"https://x.example/e": json.loads("[" * 900 + "]" * 900)}}
    )
    deep.pop("id")
    text = json.dumps(deep).replace("[" * 900, "[" * 5000).replace("]" * 900, "]" * 5000)
    lines = [json.dumps(statement(2)), text, json.dumps(statement(3))]
    _, file, reasons = ingest(skillpath_env, "deep.jsonl", "\n".join(lines).encode())
    assert (file.rows_in, file.rows_loaded, file.rows_quarantined) == (3, 2, 1)
    assert reasons == {2: "too_deep"}


@pytest.mark.parametrize("when", ["9999-12-31T00:00:00Z", "0001-01-01T00:00:00Z"])
def test_an_implausible_statement_time_is_quarantined(skillpath_env: Path, when: str):
    """Table row 9: one statement dated 9999-12-31 (or 0001-01-01) was loaded and became
    the marts' 'now' (int_as_of_date has its own guard: its dbt unit test)."""
    lines = [json.dumps(statement(1)), json.dumps(statement(2, timestamp=when))]
    settings, _, reasons = ingest(skillpath_env, "t.jsonl", "\n".join(lines).encode())
    assert reasons == {2: "implausible_time"}
    [(reason,)] = query(
        settings, "select reason from audit.quarantine where source = 'lms_statements'"
    )
    assert "earliest_event_date" in reason and when[:4] in reason


def test_a_line_longer_than_the_limit_is_quarantined(skillpath_env: Path):
    huge = statement(2, result={"response": "x" * 2_000_000})
    lines = [json.dumps(statement(1)), json.dumps(huge), json.dumps(statement(3))]
    _, file, reasons = ingest(skillpath_env, "big.jsonl", "\n".join(lines).encode())
    assert reasons == {2: "line_too_long"} and file.rows_loaded == 2


@hsettings(max_examples=120, deadline=None)
@given(
    lines=st.lists(
        st.sampled_from(
            [
                b"",
                b"  ",
                b"\t",
                b'{"x":1}',
                b'{"y":"\xc3\xa9"}',
                b"\r",
                b'{"z":2}\r',
                b"a\rb",
                b"\xe9",
            ]
        ),
        max_size=14,
    ),
    final_newline=st.booleans(),
    block=st.sampled_from([census._BLOCK, 1, 2, 5]),
)
def test_the_census_counts_lines_as_a_reader_of_lines_would(
    tmp_path_factory, lines, final_newline, block
):
    """Whatever the block size: physical lines, blank ones (space, tab, CR, VT, FF) and
    the lines DuckDB must not see (not UTF-8, a CR inside)."""
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("c") / "x.jsonl"
    path.write_bytes(data)
    default, census._BLOCK = census._BLOCK, block
    try:
        counted = census.take_census(path, False, "x", utf8=True)
    finally:
        census._BLOCK = default
    lines = data.split(b"\n")[: -1 if data.endswith(b"\n") or not data else None]
    blank = [i + 1 for i, line in enumerate(lines) if not line.strip(b" \t\r\x0b\x0c")]

    def unreadable(line: bytes) -> bool:
        body = line.removesuffix(b"\r")
        return b"\r" in body or body.decode("utf-8", "replace") != body.decode("utf-8", "ignore")

    bad = [i + 1 for i, line in enumerate(lines) if i + 1 not in blank and unreadable(line)]
    assert counted.last_line == len(lines) and counted.blank == blank
    assert counted.lines == len(lines) - len(blank)
    assert [r.line for r in counted.bad] == bad


def test_a_gzip_census_sees_the_decompressed_lines_and_the_cut(tmp_path: Path):
    rng = random.Random(3)
    text = "\n".join(
        json.dumps(statement(i, result={"response": str(rng.random())})) for i in range(500)
    )
    full = gzip.compress(text.encode())
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(full + gzip.compress(b"\n" + text.encode()))  # two gzip members
    whole = census.take_census(path, True, "x", utf8=False)
    assert (whole.lines, whole.cut) == (1000, None) and whole.blank == []
    path.write_bytes(full[:-100])
    cut = census.take_census(path, True, "x", utf8=False)
    assert cut.cut is not None and 0 < cut.lines <= 500
