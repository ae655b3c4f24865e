"""Statement exports as other LMSs and LRSs write them: one pretty-printed statement per
file, an LRS's StatementResult pages, xAPI 2.0 statements, and the edge cases of ISO 8601
durations, each ingested through the real loader."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from skillpath.ingest import ingest_all
from tests.fixtures.ingest.kit import EMAILS, landing, query

ACTIVITY = "https://lms.example.org/content/python-101"


def _statement(n: int, **extra: object) -> dict:
    statement = {
        "id": f"6f1c2a10-0009-4a5b-9c00-{n:012d}",
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://hr.example.org", "name": "E001"},
        },
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "done"}},
        "object": {"objectType": "Activity", "id": ACTIVITY},
        "timestamp": f"2024-05-01T10:{n % 60:02d}:00Z",
    }
    statement.update(extra)
    return statement


def _ingest(data: Path, files: dict[str, str | bytes]):
    """The fixture HR export and catalogue plus ``files`` (name → text, or bytes) as
    statement exports; the statement source's per-file results by file name."""
    settings = landing(data, ("hr/employees.csv", "lms/catalog.csv"))
    folder = settings.landing_dir / "lms/statements"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        data_bytes = text if isinstance(text, bytes) else text.encode()
        (folder / name).write_bytes(data_bytes)
    [result] = [r for r in ingest_all(settings) if r.table == "lms_statements"]
    return settings, {Path(f.file).name: f for f in result.files}


def _reasons(settings, name: str) -> dict[int, str]:
    return dict(
        query(
            settings,
            "select row_number, reason_code from audit.quarantine where file = ?",
            [f"lms/statements/{name}"],
        )
    )


def test_statement_result_pages_of_an_lrs(skillpath_env: Path) -> None:
    """GET /statements answers {"statements": [...], "more": ...}; saved pages, on one
    line or pretty-printed, compressed or not, are exports like any other; rows count
    the statements."""
    page1 = {"statements": [_statement(1), _statement(2), {"verb": {}}], "more": "/x?page=2"}
    page2 = {"statements": [_statement(3), _statement(1)], "more": "/x?page=3"}
    page3 = {"statements": [_statement(17)], "more": ""}
    settings, files = _ingest(
        skillpath_env,
        {
            "page-1.json": json.dumps(page1),
            "page-2.json": json.dumps(page2, indent=2),
            "page-3.json.gz": gzip.compress(json.dumps(page3, indent=2).encode()),
        },
    )
    one, two = files["page-1.json"], files["page-2.json"]
    assert (one.rows_in, one.rows_loaded, one.rows_quarantined) == (3, 2, 1)
    assert _reasons(settings, "page-1.json") == {3: "missing_actor"}
    # statement 1 again, with the same content: a duplicate of page 1's
    assert (two.rows_in, two.rows_loaded, two.rows_duplicate) == (2, 1, 1)
    assert (files["page-3.json.gz"].rows_in, files["page-3.json.gz"].rows_loaded) == (1, 1)
    [(stored,)] = query(settings, "select count(*) from raw.lms_statements")
    assert stored == 4


def test_a_page_longer_than_a_reader_line_on_one_line(skillpath_env: Path) -> None:
    """Readers stop at 2 MiB lines by default; a page of verbose statements is longer."""
    definition = {"description": {"en-US": "x" * 3000}}
    statements = [
        _statement(100 + n, object={"id": ACTIVITY, "definition": definition}) for n in range(800)
    ]
    text = json.dumps({"statements": statements, "more": ""})
    assert len(text) > 2 * 2**20
    _, files = _ingest(skillpath_env, {"page.json": text})
    assert (files["page.json"].rows_in, files["page.json"].rows_loaded) == (800, 800)


def test_one_pretty_printed_statement_per_file(skillpath_env: Path) -> None:
    statement = _statement(4)
    settings, files = _ingest(skillpath_env, {"one.json": json.dumps(statement, indent=4)})
    assert (files["one.json"].rows_in, files["one.json"].rows_loaded) == (1, 1)
    assert query(settings, "select statement_id from raw.lms_statements") == [(statement["id"],)]


def test_a_broken_document_is_judged_line_by_line(skillpath_env: Path) -> None:
    """A .json file of statement lines whose first line is cut off is no document: the
    other lines still load, the first is quarantined."""
    lines = [json.dumps(_statement(n)) for n in (5, 6, 7)]
    text = "\n".join([lines[0][:40], *lines[1:]]) + "\n"
    settings, files = _ingest(skillpath_env, {"cut.json": text})
    cut = files["cut.json"]
    assert (cut.rows_in, cut.rows_loaded, cut.rows_quarantined) == (3, 2, 1)
    assert _reasons(settings, "cut.json") == {1: "malformed_json"}


def test_xapi_2_statements_load_without_the_persons_of_their_context(
    skillpath_env: Path,
) -> None:
    """xAPI 2.0 (IEEE 9274.1.1) keeps 1.0.3's statement rules and adds context agents and
    groups, which name persons: kept out of the payload like instructor and team, also
    in a SubStatement's context."""
    agent = {"objectType": "Agent", "mbox": f"mailto:{EMAILS[1]}"}
    context = {
        "contextAgents": [{"objectType": "contextAgent", "agent": agent}],
        "contextGroups": [
            {"objectType": "contextGroup", "group": {"objectType": "Group", "member": [agent]}}
        ],
        "language": "en",
    }
    statements = [
        _statement(8, version="2.0.0", context=context),
        _statement(9, version="1.0.3"),
        _statement(10, version="0.95"),
        _statement(11, version="1.1.0"),
        _statement(
            13,
            object={
                "objectType": "SubStatement",
                "actor": agent,
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                "object": {"objectType": "Activity", "id": ACTIVITY},
                "context": {"instructor": agent, "language": "en"},
            },
        ),
    ]
    settings, files = _ingest(
        skillpath_env, {"v2.jsonl": "\n".join(json.dumps(s) for s in statements)}
    )
    assert files["v2.jsonl"].rows_loaded == 3
    assert _reasons(settings, "v2.jsonl") == {3: "invalid_version", 4: "invalid_version"}
    [(payload,)] = query(
        settings,
        "select payload from raw.lms_statements where statement_id like '%000000000008'",
    )
    assert json.loads(payload)["context"] == {"language": "en"}
    [(sub,)] = query(
        settings,
        "select payload from raw.lms_statements where statement_id like '%000000000013'",
    )
    assert json.loads(sub)["object"]["context"] == {"language": "en"}
    for (text,) in query(settings, "select payload from raw.lms_statements"):
        assert EMAILS[1] not in text.lower()


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [
        ("PT1H30M", 5400.0),
        ("P1DT2H", 93600.0),
        ("P1W", 604800.0),
        ("PT1M30.5S", 90.5),
        ("PT0.5H", 1800.0),
        ("P", None),
        ("PT", None),
        ("P1DT", None),
        ("PT1.2.3S", None),
        ("1h30", None),
        ("PT1H30", None),
    ],
)
def test_iso_8601_durations(skillpath_env: Path, duration: str, seconds: float | None) -> None:
    statement = _statement(12, result={"duration": duration})
    settings, _ = _ingest(skillpath_env, {"d.jsonl": json.dumps(statement)})
    loaded = query(settings, "select result_duration_seconds from raw.lms_statements")
    if seconds is None:
        assert loaded == []
        assert _reasons(settings, "d.jsonl") == {1: "invalid_duration"}
    else:
        assert loaded == [(seconds,)]


def test_the_lines_of_an_export_that_are_not_utf8_are_quarantined(skillpath_env: Path) -> None:
    """xAPI is UTF-8 JSON: the lines of a Latin-1 export that are not UTF-8 are
    quarantined saying which line and byte, without quoting it (it may name the person);
    the others (ASCII is the same in both) load."""
    named = _statement(
        15,
        verb={
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"fr-FR": "terminé par René"},
        },
    )
    text = "\n".join(json.dumps(s, ensure_ascii=False) for s in (_statement(14), named))
    settings, files = _ingest(skillpath_env, {"latin1.jsonl": text.encode("latin-1")})
    file = files["latin1.jsonl"]
    assert (file.rows_in, file.rows_loaded, file.rows_quarantined) == (2, 1, 1)
    [(line, code, reason)] = query(
        settings,
        "select row_number, reason_code, reason from audit.quarantine "
        "where file like 'lms/statements/%'",
    )
    assert (line, code) == (2, "undecodable") and "line 2: byte" in reason
    assert "Ren" not in reason


def test_an_openid_actor_is_unknown_saying_what_the_lms_should_send(
    skillpath_env: Path,
) -> None:
    statement = _statement(16, actor={"objectType": "Agent", "openid": "https://id.example/u/7"})
    settings, files = _ingest(skillpath_env, {"openid.jsonl": json.dumps(statement)})
    assert files["openid.jsonl"].rows_quarantined == 1
    [(code, reason)] = query(
        settings,
        "select reason_code, reason from audit.quarantine where file like 'lms/statements/%'",
    )
    assert code == "unknown_actor"
    assert "OpenID" in reason and "account.name = employee_id" in reason


_OTHER_PERSON = {"objectType": "Agent", "mbox": "mailto:someone.else@partner.example"}
_SUB = {
    "objectType": "SubStatement",
    "actor": _OTHER_PERSON,  # a SubStatement may be about anyone, and needs no time
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
    "object": {"objectType": "Activity", "id": ACTIVITY},
}
_REF = {"objectType": "StatementRef", "id": "6f1c2a10-0009-4a5b-9c00-000000000001"}


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"object": _SUB}, None),
        ({"object": {**_SUB, "result": {"duration": "PA1H"}}}, "invalid_object"),
        ({"object": {**_SUB, "result": {"success": "true"}}}, "invalid_object"),
        ({"object": {**_SUB, "id": "6f1c2a10-0009-4a5b-9c00-000000000002"}}, "invalid_object"),
        ({"object": {**_SUB, "object": _SUB}}, "invalid_object"),
        ({"result": {"score": 12345}}, "invalid_result"),
        ({"result": {"response": {"key": "value"}}}, "invalid_result"),
        ({"result": {"response": "B"}}, None),
        ({"context": 10}, "invalid_context"),
        ({"context": {"statement": {**_REF, "id": "not-a-uuid"}}}, "invalid_context"),
        ({"context": {"statement": _REF}}, None),
        ({"object": _REF, "context": {"platform": "LMS"}}, "invalid_context"),
        ({"context": {"platform": "LMS", "revision": "2"}}, None),
        ({"timestamp": "2024-05-01T10:00:00-00:00"}, "invalid_timestamp"),
        ({"timestamp": "2024-05-01T10:00:00-0000"}, "invalid_timestamp"),
        ({"timestamp": "2024-05-01T10:00:00+00:00"}, None),
        ({"result": {"duration": "P4W1D"}}, "invalid_duration"),
        ({"result": {"duration": "P4W"}}, None),
        (
            {"actor": {"objectType": "Agent", "account": {"homePage": "http", "name": "E001"}}},
            "invalid_actor",
        ),
    ],
)
def test_rules_the_conformance_suites_check(
    skillpath_env: Path, changes: dict, reason: str | None
) -> None:
    """Rules of xAPI 1.0.3 that LRS conformance suites (ADL's lrs-conformance-test-suite,
    Learning Locker's xapi-validation) check and exports from other LMSs may break: a
    SubStatement follows a statement's rules (§2.4.4.3), result.score is an object and
    response a string (§2.4.5), context is an object whose statement is a StatementRef
    and whose platform/revision only go with an Activity (§2.4.6), timestamps have a
    known offset (§4.5), weeks stand alone in a duration (§4.6), homePage is a URL
    (§2.4.2.5)."""
    settings, files = _ingest(skillpath_env, {"c.jsonl": json.dumps(_statement(20, **changes))})
    if reason is None:
        assert files["c.jsonl"].rows_loaded == 1
    else:
        assert _reasons(settings, "c.jsonl") == {1: reason}
