"""No personal data in logs or error messages: a broken HR export goes through
``skillpath ingest`` and every log is scanned for the persons in it (the terminal, the
command's log files, Dagster's compute logs and event log, the ingest ledger and the
quarantine's reasons)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from skillpath.cli import main
from tests.fixtures.ingest.kit import landing
from tests.fixtures.privacy.traces import file_traces, sql_traces

# persons whose rows are broken in ways CSV readers quote back (an unbalanced quote, too
# many fields, a byte that is not UTF-8): none of their values may appear anywhere
BROKEN = (
    b"E900,zora.leak@example.org,Zora,Leakwell,Sales,SAL1,,Berlin,2020-01-01,full_time,active,\n"
    b'E901,yann.quote@example.org,"Yann,Quotewood,Sales,SAL1,,Lisbon,2020-01-01,full_time,'
    b"active,\n"
    b"E902,xia.fields@example.org,Xia,Fieldsworth,Sales,SAL1,,Berlin,2020-01-01,full_time,"
    b"active,,extra,more,fields\n"
    b"E903,wim.bytes@example.org,Wim,Byte\xe9sson,Sales,SAL1,,Berlin,2020-01-01,full_time,"
    b"active,\n"
)
SECRETS = [
    "zora.leak",
    "Leakwell",
    "yann.quote",
    "Quotewood",
    "xia.fields",
    "Fieldsworth",
    "wim.bytes",
    "Byte",
    "E901",
    "E902",
    "E903",
]


def _deliver_broken_hr(root: Path) -> None:
    hr = root / "hr" / "employees.csv"
    header = b"employee_id,email,first_name,last_name,department,job_code,manager_id,location,"
    hr.write_bytes(header + b"hire_date,employment_type,status,leave_date\n" + BROKEN)


def test_a_broken_hr_export_leaves_no_personal_data_in_any_log(skillpath_env: Path, capfd) -> None:
    root = landing(skillpath_env).landing_dir
    shutil.rmtree(root / "lms" / "statements")
    (root / "lms" / "statements").mkdir()
    _deliver_broken_hr(root)
    main(["ingest"])
    captured = capfd.readouterr()
    terminal = captured.out + captured.err
    assert "hr/employees.csv" in terminal  # the file is named, so the engineer can act
    assert [s for s in SECRETS if s in terminal] == []
    assert file_traces(skillpath_env, SECRETS, skip=[skillpath_env / "landing"]) == []
    with duckdb.connect(str(skillpath_env / "warehouse.duckdb"), read_only=True) as con:
        assert sql_traces(con, SECRETS) == []
        [(quarantined,)] = con.execute(
            "select count(*) from audit.quarantine where file = 'hr/employees.csv'"
        ).fetchall()
    assert quarantined >= 1  # what was wrong is recorded, by line, without the content
    logs = [p for p in (skillpath_env / "dagster").rglob("*") if p.suffix in (".out", ".err")]
    assert logs, "Dagster's compute logs were scanned"
