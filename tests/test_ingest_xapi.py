"""xAPI 1.0.3 statements as an LRS applies them: every reason code, duplicates and
conflicts, voiding, mbox matching, gzip and JSON arrays, pseudonymised payloads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from skillpath.ingest import ingest_all, xapi
from skillpath.privacy import email_sha1sum, person_key
from tests.fixtures.environment import data_environment
from tests.fixtures.ingest.kit import LANDING, expected_outcomes, landing, query

JSONL = "lms/statements/2024-01.jsonl"
ARRAY = "lms/statements/2024-02.json"
GZ = "lms/statements/2024-03.jsonl.gz"
KEY = b"test-key-not-secret"


@pytest.fixture
def ingested(skillpath_env: Path):
    settings = landing(skillpath_env)
    results = {r.table: r for r in ingest_all(settings)}
    return settings, results


def _outcomes(settings, file: str) -> dict[int, str]:
    """Line → outcome: the quarantine reason, or 'loaded'/'duplicate' otherwise."""
    quarantined = dict(
        query(
            settings,
            "select row_number, reason_code from audit.quarantine where file = ?",
            [file],
        )
    )
    return quarantined


def test_every_statement_gets_the_outcome_it_declares(ingested) -> None:
    settings, _ = ingested
    declared = expected_outcomes(LANDING / JSONL)
    quarantined = _outcomes(settings, JSONL)
    for line, expect in declared.items():
        if expect in ("loaded", "duplicate"):
            assert line not in quarantined, (line, quarantined.get(line))
        else:
            assert quarantined.get(line) == expect, line
    # lines that cannot declare anything: broken JSON and a JSON array
    assert quarantined[17] == "malformed_json"
    assert quarantined[20] == "invalid_statement"
    assert set(quarantined) == {
        n for n, e in declared.items() if e not in ("loaded", "duplicate")
    } | {
        17,
        20,
    }
    log = query(
        settings,
        "select rows_in, rows_loaded, rows_quarantined, rows_duplicate, status "
        "from audit.ingest_log where file = ?",
        [JSONL],
    )
    # 25 lines, one blank: 4 loaded (lines 1, 2, 3, 25), one duplicate (line 4)
    assert log == [(24, 4, 19, 1, "partial")]


def test_all_spec_reason_codes_are_covered(ingested) -> None:
    settings, _ = ingested
    codes = {r[0] for r in query(settings, "select distinct reason_code from audit.quarantine")}
    assert {
        "malformed_json",
        "invalid_statement",
        "missing_actor",
        "invalid_actor",
        "missing_verb",
        "invalid_verb_id",
        "missing_object",
        "invalid_object",
        "invalid_timestamp",
        "no_time",
        "unknown_actor",
        "score_out_of_range",
        "invalid_duration",
        "conflicting_duplicate",
        "invalid_id",
        "invalid_progress",
        "invalid_result",
        "invalid_voiding",
    } <= codes


def test_reasons_name_file_line_and_rule(ingested) -> None:
    settings, _ = ingested
    [(reason,)] = query(
        settings,
        "select reason from audit.quarantine where file = ? and row_number = 8",
        [JSONL],
    )
    assert reason.startswith(f"{JSONL} line 8: verb.id must be an IRI")


def test_array_gzip_deterministic_ids_and_voiding(ingested) -> None:
    settings, _ = ingested
    log = dict(
        (f, (n, loaded, q, d))
        for f, n, loaded, q, d in query(
            settings,
            "select file, rows_in, rows_loaded, rows_quarantined, rows_duplicate "
            "from audit.ingest_log",
        )
    )
    # array: voiding + completed loaded, a bare string rejected, the id-less statement of
    # 2024-01.jsonl line 3 exported again (other key order, other `stored`) is a duplicate
    assert log[ARRAY] == (4, 2, 1, 1)
    assert log[GZ] == (2, 2, 0, 0)
    voided = query(
        settings,
        "select statement_id, voided from raw.lms_statements "
        "where statement_id in ('6f1c2a10-0001-4a5b-9c00-000000000002', "
        "'6f1c2a10-0002-4a5b-9c00-000000000001')",
    )
    # the voided target (id given in upper case in the file) and the voiding statement
    assert sorted(voided) == [
        ("6f1c2a10-0001-4a5b-9c00-000000000002", True),
        ("6f1c2a10-0002-4a5b-9c00-000000000001", False),
    ]
    [(voids,)] = query(
        settings,
        "select voids_statement_id from raw.lms_statements where verb_id like '%/voided'",
    )
    assert voids == "6f1c2a10-0001-4a5b-9c00-000000000002"


def test_typed_values(ingested) -> None:
    settings, _ = ingested
    rows = {
        r[0]: r[1:]
        for r in query(
            settings,
            "select statement_id, person_key, timestamp::varchar, result_duration_seconds, "
            "progress, result_score_scaled, object_in_catalog, registration "
            "from raw.lms_statements",
        )
    }
    first = rows["6f1c2a10-0001-4a5b-9c00-000000000001"]
    assert first[0] == person_key("E001", KEY)
    assert first[1:5] == ("2024-01-05 09:00:00", 5400.0, None, 0.9)
    # mbox in another case than the HR e-mail matches Bruno; +02:00 becomes UTC
    bruno = rows["6f1c2a10-0001-4a5b-9c00-000000000002"]
    assert bruno[0] == person_key("E002", KEY)
    assert bruno[1] == "2024-01-06 08:15:30.25"
    assert bruno[3] == 0.5  # cmi5 progress 50 → 0.5
    assert bruno[6] == "ab9e6f57-1f3b-4c55-9d7a-0f1d2e3c4b5a"
    dario = rows["6f1c2a10-0001-4a5b-9c00-000000000025"]
    assert dario[0] == person_key("E004", KEY)
    assert dario[1] == "2024-01-09 19:00:00"
    assert dario[2] == 26 * 3600.0  # P1DT2H
    [(forum_in_catalog, forum_time)] = query(
        settings,
        "select object_in_catalog, timestamp::varchar from raw.lms_statements "
        "where object_id like '%/forum/%'",
    )
    # not in the catalogue: loaded and flagged; no timestamp: `stored` is used
    assert forum_in_catalog is False
    assert forum_time == "2024-01-07 12:00:00"


def test_payload_keeps_the_statement_but_no_person(ingested) -> None:
    settings, _ = ingested
    [(payload,)] = query(
        settings,
        "select payload from raw.lms_statements "
        "where statement_id = '6f1c2a10-0001-4a5b-9c00-000000000025'",
    )
    statement = json.loads(payload)
    assert statement["actor"] == {"objectType": "Agent"}
    assert "authority" not in statement
    assert "instructor" not in statement["context"]
    assert statement["result"] == {"completion": True, "duration": "P1DT2H"}
    [(broken,)] = query(
        settings,
        "select payload from audit.quarantine where file = ? and row_number = 17",
        [JSONL],
    )
    # a line that cannot be parsed cannot be cleaned: only its size is kept
    line = (LANDING / JSONL).read_text().splitlines()[16]
    assert json.loads(broken) == {"bytes": len(line.encode())}


def test_conflicting_duplicate_across_files(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv", GZ))
    ingest_all(settings)
    changed = settings.landing_dir / "lms/statements/2024-04.jsonl"
    original = json.loads(
        '{"id":"6f1c2a10-0003-4a5b-9c00-000000000002","actor":{"account":{"homePage":'
        '"https://hr.example.org","name":"E002"}},"verb":{"id":'
        '"http://adlnet.gov/expapi/verbs/failed"},"object":{"id":'
        '"https://lms.example.org/content/python-101"},"result":{"success":false,'
        '"score":{"raw":3,"min":0,"max":10}},"timestamp":"2024-03-02T07:30:00Z"}'
    )
    altered = {**original, "result": {"success": True, "score": {"raw": 9, "min": 0, "max": 10}}}
    changed.write_text(json.dumps(original) + "\n" + json.dumps(altered) + "\n")
    ingest_all(settings)
    [(n, loaded, quarantined, duplicate)] = query(
        settings,
        "select rows_in, rows_loaded, rows_quarantined, rows_duplicate from audit.ingest_log "
        "where file = 'lms/statements/2024-04.jsonl'",
    )
    assert (n, loaded, quarantined, duplicate) == (2, 0, 1, 1)
    [(success,)] = query(
        settings,
        "select result_success from raw.lms_statements "
        "where statement_id = '6f1c2a10-0003-4a5b-9c00-000000000002'",
    )
    assert success is False  # the stored statement is immutable


def test_json_array_of_objects_only(skillpath_env: Path) -> None:
    """A homogeneous array (DuckDB would infer a STRUCT) keeps each statement's JSON."""
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    statements = [json.loads(line) for line in (LANDING / JSONL).read_text().splitlines()[:2]]
    export = settings.landing_dir / "lms/statements/export.json"
    export.parent.mkdir(parents=True)
    export.write_text(json.dumps(statements, indent=2))
    [result] = [r for r in ingest_all(settings) if r.table == "lms_statements"]
    [file] = result.files
    assert (file.rows_in, file.rows_loaded) == (2, 2)
    payloads = query(settings, "select payload from raw.lms_statements")
    assert all(json.loads(p)["actor"] == {"objectType": "Agent"} for (p,) in payloads)


# JSON to DuckDB's parser though not to every other (NaN, a trailing comma): parsed once
# like any statement, it must fare as when every line is validated first.
_TRICKY_JSON = (
    '{"id":"6f1c2a10-0004-4a5b-9c00-000000000001","actor":{"account":{"homePage":'
    '"https://hr.example.org","name":"E002"}},"verb":{"id":"http://adlnet.gov/expapi/verbs/'
    'passed"},"object":{"id":"https://lms.example.org/content/sql-joins"},"result":{"score":'
    '{"raw":NaN}},"timestamp":"2024-04-01T10:00:00Z",}'
)


def _ingest_with_generated_export(data: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """The fixture landing directory plus an export of the JSONL fixture's statements
    (repeats, conflicts and rule breaks, but every line that starts like an object is
    JSON), ingested into ``data``; the resulting tables, less load times."""
    for name, value in data_environment(data).items():
        monkeypatch.setenv(name, value)
    settings = landing(data)
    lines = (LANDING / JSONL).read_text().splitlines()
    export = [line for n, line in enumerate(lines, start=1) if n != 17]  # 17: not JSON
    (settings.landing_dir / "lms/statements/2024-04.jsonl").write_text(
        "\n".join([*export, _TRICKY_JSON]) + "\n"
    )
    ingest_all(settings)
    return {
        "raw": query(
            settings,
            "select * exclude (_loaded_at) from raw.lms_statements "
            "order by _source_file, statement_id",
        ),
        "quarantine": query(
            settings,
            "select * exclude (quarantined_at) from audit.quarantine "
            "order by file, row_number, reason_code",
        ),
        "log": query(
            settings,
            "select * exclude (started_at, finished_at, delivered_at) from audit.ingest_log "
            "order by file",
        ),
    }


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, per statement file, whether it was checked with every line validated
    (True) or parsed once (False)."""
    checked_sql = xapi._checked_sql
    calls: list[bool] = []

    def spy(validate: bool, *limits) -> str:
        calls.append(validate)
        return checked_sql(validate, *limits)

    monkeypatch.setattr(xapi, "_checked_sql", spy)
    return calls


def test_parsing_once_gives_the_tables_of_validating_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parses: list[bool]
) -> None:
    """A statement file is parsed once, taking lines that start like an object for JSON;
    only a file where one is not is checked again with every line validated first
    (xapi._check_statements). Both ways must load, quarantine and log the same."""
    parsed_once = _ingest_with_generated_export(tmp_path / "once", monkeypatch)
    # the JSONL fixture (line 17) is validated again, the other files are not
    assert parses.count(True) == 1
    assert parses.count(False) == 4
    validate_all = xapi._checked_sql
    monkeypatch.setattr(xapi, "_checked_sql", lambda _, *limits: validate_all(True, *limits))
    assert _ingest_with_generated_export(tmp_path / "validated", monkeypatch) == parsed_once
    log = {r[1]: r[3:7] for r in parsed_once["log"]}
    # 2024-01.jsonl's statements again: duplicates and the same rule breaks, nothing new
    assert log["lms/statements/2024-04.jsonl"] == (24, 0, 19, 5)
    reasons = {(q[1], q[2]): q[4] for q in parsed_once["quarantine"]}
    assert reasons["lms/statements/2024-04.jsonl", 25] == "invalid_result"  # NaN: no number


def test_payloads_are_stored_with_zstd(ingested) -> None:
    """A storage decision of the warehouse (warehouse.COMPRESSION): several times smaller
    than DuckDB's default for JSON texts, and cheaper to write."""
    settings, _ = ingested
    [(compression,)] = query(
        settings,
        "select distinct compression from pragma_storage_info('raw.lms_statements') "
        "where column_name = 'payload' and segment_type = 'VARCHAR'",
    )
    assert compression == "ZSTD"


def test_a_loader_bug_fails_only_its_file(
    skillpath_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while a file is staged (before its transaction) or loaded (inside it) is
    recorded as ingest_error with its lines counted; nothing else of the file is
    written, the others load."""
    settings = landing(skillpath_env)
    stage, load = xapi.stage_statement_file, xapi.load_statement_file

    def failing_stage(con, file, *context):
        if file.relative == ARRAY:
            raise RuntimeError("bug while staging")
        return stage(con, file, *context)

    def failing_load(con, file, staged, result, loaded_at):
        load(con, file, staged, result, loaded_at)
        if file.relative == GZ:
            raise RuntimeError("bug after writing")
        return result

    monkeypatch.setattr(xapi, "stage_statement_file", failing_stage)
    monkeypatch.setattr(xapi, "load_statement_file", failing_load)
    ingest_all(settings)
    log = dict(
        (f, (status, n, q))
        for f, status, n, q in query(
            settings, "select file, status, rows_in, rows_quarantined from audit.ingest_log"
        )
    )
    lines = {f: _nonblank_lines(LANDING / f) for f in (ARRAY, GZ)}
    assert log[ARRAY] == ("failed", lines[ARRAY], lines[ARRAY])
    assert log[GZ] == ("failed", lines[GZ], lines[GZ])
    assert log[JSONL][:2] == ("partial", 24)
    for file in (ARRAY, GZ):
        assert query(
            settings, "select count(*) from raw.lms_statements where _source_file = ?", [file]
        ) == [(0,)]
        assert query(
            settings, "select reason_code from audit.quarantine where file = ?", [file]
        ) == [("ingest_error",)]


def _nonblank_lines(path: Path) -> int:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def test_an_export_cut_off_in_its_last_line(skillpath_env: Path, parses: list[bool]) -> None:
    """The likeliest broken file: its good lines load, the cut line is quarantined with
    its number, and the file is validated line by line right away (xapi._check_statements)
    rather than after a parse that fails at its end."""
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    lines = (LANDING / JSONL).read_text().splitlines()
    export = settings.landing_dir / "lms/statements/cut.jsonl"
    export.parent.mkdir(parents=True)
    export.write_text("\n".join([lines[0], lines[1], lines[2][:60]]))
    [result] = [r for r in ingest_all(settings) if r.table == "lms_statements"]
    assert parses == [True]
    [file] = result.files
    assert (file.rows_in, file.rows_loaded, file.rows_quarantined) == (3, 2, 1)
    assert query(
        settings,
        "select row_number, reason_code from audit.quarantine where file = ?",
        ["lms/statements/cut.jsonl"],
    ) == [(3, "malformed_json")]


def test_mbox_sha1sum_actors_are_matched_to_hr_e_mail_addresses(skillpath_env: Path) -> None:
    """LMSs that keep addresses private send ``mbox_sha1sum``, the SHA1 of
    ``mailto:<address>`` (xAPI 1.0.3 §2.4.2.3): matched through the HR export's addresses
    (in any case of address or hex digits), never by storing them. A Group is no person:
    ``group_actor``, not ``unknown_actor`` (nothing to retry when HR changes)."""
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    export = settings.landing_dir / "lms/statements/sha1.jsonl"
    export.parent.mkdir(parents=True)

    def statement(n: int, sha1sum: str) -> str:
        return json.dumps(
            {
                "id": f"6f1c2a10-0005-4a5b-9c00-00000000000{n}",
                "actor": {"objectType": "Agent", "mbox_sha1sum": sha1sum},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                "object": {"id": "https://lms.example.org/content/python-101"},
                "timestamp": "2024-01-05T09:00:00Z",
            }
        )

    export.write_text(
        "\n".join(
            [
                statement(1, email_sha1sum("dario.mock@example.org")),
                statement(2, email_sha1sum("bruno.testcase@example.org").upper()),
                statement(3, email_sha1sum("nobody@example.org")),
                statement(4, "not-a-sha1"),
                # a group is no person, even with a known member's identifier
                json.dumps(
                    {
                        "id": "6f1c2a10-0005-4a5b-9c00-000000000005",
                        "actor": {
                            "objectType": "Group",
                            "mbox_sha1sum": email_sha1sum("dario.mock@example.org"),
                        },
                        "verb": {"id": "http://adlnet.gov/expapi/verbs/attended"},
                        "object": {"id": "https://lms.example.org/content/python-101"},
                        "timestamp": "2024-01-05T09:00:00Z",
                    }
                ),
            ]
        )
    )
    ingest_all(settings)
    loaded = dict(query(settings, "select statement_id, person_key from raw.lms_statements"))
    assert loaded == {
        "6f1c2a10-0005-4a5b-9c00-000000000001": person_key("E004", KEY),
        "6f1c2a10-0005-4a5b-9c00-000000000002": person_key("E002", KEY),
    }
    assert dict(
        query(
            settings,
            "select row_number, reason_code from audit.quarantine where file = ?",
            ["lms/statements/sha1.jsonl"],
        )
    ) == {3: "unknown_actor", 4: "invalid_actor", 5: "group_actor"}
    stored = {h for (h,) in query(settings, "select email_hash from audit.person_identity")}
    assert email_sha1sum("dario.mock@example.org") not in stored  # only keyed hashes


def test_statements_of_a_person_hr_did_not_know_yet_load_once_hr_does(
    skillpath_env: Path,
) -> None:
    """The LMS knows a new hire before the HR export does: their statements are
    quarantined as ``unknown_actor``, and loaded when a later HR export brings them —
    the file is retried once, its other rows count as duplicates, each quarantined row
    keeps one current fate, and an unchanged landing directory stays a no-op."""
    settings = landing(skillpath_env, ("lms/catalog.csv",))
    hr = (LANDING / "hr/employees.csv").read_text().splitlines()
    employees = settings.landing_dir / "hr/employees.csv"
    employees.parent.mkdir(parents=True)
    employees.write_text("\n".join(line for line in hr if not line.startswith("E004,")))
    export = settings.landing_dir / "lms/statements/new-hire.jsonl"
    export.parent.mkdir(parents=True)

    def statement(n: int, employee_id: str) -> str:
        return json.dumps(
            {
                "id": f"6f1c2a10-0006-4a5b-9c00-00000000000{n}",
                "actor": {"account": {"homePage": "https://hr.example.org", "name": employee_id}},
                "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                "object": {"id": "https://lms.example.org/content/python-101"},
                "timestamp": "2024-01-05T09:00:00Z",
            }
        )

    export.write_text("\n".join([statement(1, "E001"), statement(2, "E004"), statement(3, "X9")]))

    def ingest_statements() -> list[tuple]:
        ingest_all(settings)
        return query(
            settings,
            "select rows_in, rows_loaded, rows_quarantined, rows_duplicate from audit.ingest_log "
            "where file = 'lms/statements/new-hire.jsonl' order by finished_at",
        )

    assert ingest_statements() == [(3, 1, 2, 0)]
    assert ingest_statements() == [(3, 1, 2, 0)]  # HR unchanged: nothing to retry
    employees.write_text("\n".join(hr))  # the next HR export knows E004
    assert ingest_statements() == [(3, 1, 2, 0), (3, 1, 1, 1)]
    assert ingest_statements() == [(3, 1, 2, 0), (3, 1, 1, 1)]
    loaded = dict(query(settings, "select statement_id, person_key from raw.lms_statements"))
    assert loaded["6f1c2a10-0006-4a5b-9c00-000000000002"] == person_key("E004", KEY)
    assert len(loaded) == 2
    assert query(
        settings,
        "select row_number, reason_code from audit.quarantine "
        "where file = 'lms/statements/new-hire.jsonl'",
    ) == [(3, "unknown_actor")]
