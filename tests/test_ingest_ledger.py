"""Every row accounted for: rows_in = loaded + quarantined + duplicate for every file,
re-running changes nothing, a changed file is re-ingested with rows deduplicated."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from skillpath.ingest import SOURCES, ingest_all
from skillpath.ingest.report import ingest_summary, render_summary
from skillpath.warehouse import connect, qualified
from tests.fixtures.ingest.kit import landing, query


def _snapshot(settings) -> dict[str, list]:
    tables = [qualified(s.table) for s in SOURCES] + [
        "audit.ingest_log",
        "audit.quarantine",
        "published.employee_directory",
        "audit.person_identity",
    ]
    return {t: sorted(map(repr, query(settings, f"select * from {t}"))) for t in tables}


def test_reingesting_the_same_landing_directory_changes_nothing(skillpath_env: Path) -> None:
    settings = landing(skillpath_env)
    ingest_all(settings)
    before = _snapshot(settings)
    second = ingest_all(settings)
    assert all(not r.files for r in second)
    assert sum(len(r.skipped) for r in second) == 7  # every file of the fixture
    assert _snapshot(settings) == before


def test_changed_file_is_reingested_and_deduplicated(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    ingest_all(settings)
    catalog = settings.landing_dir / "lms/catalog.csv"
    text = catalog.read_text().replace("Python 101,course,120", "Python 101,course,90")
    catalog.write_text(
        text + "https://lms.example.org/content/git,Git basics,video,20,1,en,X,true\n"
    )
    ingest_all(settings)
    logs = query(
        settings,
        "select rows_in, rows_loaded, rows_duplicate from audit.ingest_log "
        "where file = 'lms/catalog.csv' order by started_at",
    )
    # second version: 3 unchanged rows are duplicates, the changed and the new row load
    assert logs == [(4, 4, 0), (5, 2, 3)]
    latest = query(
        settings,
        "select duration_minutes from raw.lms_catalog where content_id like '%python-101' "
        "order by _loaded_at desc limit 1",
    )
    assert latest == [(90,)]


def test_summary_lists_missing_sources(skillpath_env: Path) -> None:
    settings = landing(skillpath_env, ("lms/catalog.csv",))
    ingest_all(settings)
    with connect(settings.warehouse, read_only=True) as con:
        summaries = {s.table: s for s in ingest_summary(con)}
        text = render_summary(list(summaries.values()))
    assert summaries["hr_employees"].missing and summaries["hr_employees"].required
    assert "hr_employees" in text and "REQUIRED source missing" in text
    assert summaries["lms_catalog"].rows_loaded == 4


_GOOD = (
    '{{"id":"{id}","actor":{{"account":{{"homePage":"https://hr.example.org","name":"E001"}}}},'
    '"verb":{{"id":"http://adlnet.gov/expapi/verbs/experienced"}},'
    '"object":{{"id":"https://lms.example.org/content/sql-joins"}},'
    '"timestamp":"2024-05-01T10:00:00Z"}}'
)
_BAD = [
    "{not json",
    '{"actor":{"account":{"homePage":"https://hr.example.org","name":"E001"}}}',
    '{"id":"{id}","actor":{"mbox":"nobody@example.org"},"verb":{"id":"x:y"},'
    '"object":{"id":"x:z"},"timestamp":"2024-05-01T10:00:00Z"}',
    "[]",
    '"text"',
]
_IDS = [f"00000000-0000-4000-8000-{n:012d}" for n in range(6)]

lines_strategy = st.lists(
    st.one_of(
        st.builds(lambda i: _GOOD.format(id=i), st.sampled_from(_IDS)),
        st.builds(lambda b, i: b.replace("{id}", i), st.sampled_from(_BAD), st.sampled_from(_IDS)),
        st.just(""),
    ),
    max_size=25,
)


@hsettings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(lines_strategy, min_size=1, max_size=3))
def test_accounting_invariant_holds_for_any_mix(skillpath_env: Path, batches) -> None:
    settings = landing(skillpath_env, ("hr/employees.csv", "lms/catalog.csv"))
    statements = settings.landing_dir / "lms/statements"
    statements.mkdir(parents=True, exist_ok=True)
    for n, lines in enumerate(batches):
        (statements / f"batch-{n}.jsonl").write_text("\n".join(lines) + "\n")
    ingest_all(settings)
    log = query(
        settings,
        "select file, rows_in, rows_loaded, rows_quarantined, rows_duplicate "
        "from audit.ingest_log where source = 'lms_statements'",
    )
    quarantined = dict(
        query(
            settings,
            "select file, count(*) from audit.quarantine where source = 'lms_statements' "
            "group by file",
        )
    )
    for file, rows_in, loaded, q, duplicate in log:
        assert rows_in == loaded + q + duplicate
        assert quarantined.get(file, 0) == q
    loaded_total = sum(r[2] for r in log)
    assert query(settings, "select count(*) from raw.lms_statements") == [(loaded_total,)]
    distinct_good = {
        json.loads(line)["id"]
        for lines in batches
        for line in lines
        if line.startswith('{"id"') and "E001" in line
    }
    assert loaded_total == len(distinct_good)
    # clean up for the next example (the fixture's directory is shared by all examples)
    settings.warehouse.unlink()
    for path in statements.iterdir():
        path.unlink()
