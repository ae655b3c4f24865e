"""The org skill-gap report on the tiny organisation (tests/fixtures/marts/tiny_org.sql):
its cells add up against the person-level gaps, suppressed cells say so, the page parses
and holds nothing about a person.

Engineering (5 active persons, role ENG1) requires python (3 persons short) and sql
(4 short: only pk_tested has level 2); both are "technical", and the 3 short in python
are among the 4 short in sql, so the category has 4 persons short, not 3 + 4 = 7 (more
than the department's 5). Sales has 2 active persons: suppressed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pandas as pd
import pytest

from skillpath.reports.org_skill_gaps import render_page, write_org_skill_gap_heatmap
from tests.fixtures.html import parse_page
from tests.fixtures.marts.build import BuiltMarts

# person × skill gaps of the reported skill groups, rolled up by hand: the mart must agree
_FROM_PERSONS = """
select g.department, s.category as skill_category,
       count(distinct g.person_key) as persons_required,
       count(distinct case when g.gap > 0 then g.person_key end) as persons_short,
       avg(g.gap) as mean_gap
from marts.mart_skill_gaps g
join marts.dim_skill s using (skill_id)
join marts.mart_org_skill_gaps o using (department, skill_id)
where not o.is_suppressed
group by all
"""


@pytest.fixture(scope="module")
def con(tiny_marts: BuiltMarts):
    with duckdb.connect(str(tiny_marts.warehouse), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def page(tiny_marts: BuiltMarts):
    report = write_org_skill_gap_heatmap(tiny_marts.warehouse, tiny_marts.reports_dir / "org")
    return report, report.html.read_text(encoding="utf-8")


def test_category_cells_count_each_person_once(con: duckdb.DuckDBPyConnection) -> None:
    cells = con.execute("select * from marts.mart_org_skill_category_gaps").df()
    reported = cells[~cells["is_suppressed"]].set_index(["department", "skill_category"])
    expected = con.execute(_FROM_PERSONS).df().set_index(["department", "skill_category"])
    assert set(reported.index) == set(expected.index) == {("Engineering", "technical")}
    for column in ("persons_required", "persons_short"):
        assert reported[column].astype(int).to_dict() == expected[column].to_dict()
    assert reported["mean_gap"].to_dict() == pytest.approx(expected["mean_gap"].to_dict())

    engineering = reported.loc[("Engineering", "technical")]
    per_skill = con.execute(
        "select sum(persons_short) from marts.mart_org_skill_gaps "
        "where department = 'Engineering' and not is_suppressed"
    ).fetchone()[0]
    assert (engineering.persons_short, per_skill) == (4, 7)  # once per person, not summed
    active = dict(
        con.execute(
            "select department, count(*) from marts.dim_employee where is_active group by all"
        ).fetchall()
    )
    assert (cells["department_headcount"] == cells["department"].map(active)).all()
    assert (reported["persons_short"] <= reported["persons_required"]).all()
    assert (reported["persons_required"] <= reported["department_headcount"]).all()


def test_suppressed_cells_carry_no_figure(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute(
        "select is_suppressed, persons_required, persons_short, mean_gap, skills_suppressed "
        "from marts.mart_org_skill_category_gaps where department = 'Sales'"
    ).fetchone()
    assert row == (True, None, None, None, 1)


def test_page_shows_the_marts_figures(page: tuple, con: duckdb.DuckDBPyConnection) -> None:
    report, html = page
    parsed = parse_page(html)
    rows = {tuple(r[:1]): r for r in parsed.rows if len(r) == 6}  # the category table
    assert rows[("technical",)] == ["technical", "5", "4", "80%", "1.45", "2 of 2"]
    mean_gap = con.execute(
        "select mean_gap from marts.mart_org_skill_category_gaps where skill_category = 'technical'"
    ).fetchone()[0]
    assert f"{mean_gap:.2f}" == "1.45"
    assert ["Engineering — 5 active persons"] in parsed.rows
    assert ["Sales — 2 active persons"] in parsed.rows
    # the suppressed cell reads "suppressed" where the figures would be, never 0
    business = next(r for r in parsed.rows if r[0] == "business")
    assert business[1].startswith("suppressed") and len(business) == 3
    assert (report.cells_shown, report.cells_suppressed) == (1, 1)


def test_page_is_self_contained_and_explains_itself(page: tuple) -> None:
    _, html = page
    parsed = parse_page(html)
    assert len(parsed.images) == 1 and parsed.images[0].startswith("data:image/png;base64,")
    assert parsed.links == []  # no stylesheet, script or link fetched at view time
    for figure in ("persons short", "share short", "mean gap (levels)", "suppressed", "White"):
        assert figure in parsed.text
    assert "README" not in parsed.text and ".sql" not in parsed.text


def test_page_holds_no_person_level_data(page: tuple, con: duckdb.DuckDBPyConnection) -> None:
    _, html = page
    persons = [r[0] for r in con.execute("select person_key from marts.dim_employee").fetchall()]
    assert persons and not [p for p in persons if p in html]
    assert "pk_" not in html


def test_names_from_customer_files_are_escaped() -> None:
    cells = pd.DataFrame(
        {
            "department": ["<script>alert(1)</script> R&D $x_1$"],
            "skill_category": ['"><img src=x>'],
            "department_headcount": [9],
            "skills_required": [1],
            "skills_suppressed": [0],
            "is_suppressed": [False],
            "min_group_size": [5],
            "persons_required": [9],
            "persons_short": [4],
            "share_short": [4 / 9],
            "mean_gap": [0.8],
        }
    )
    html = render_page(cells, cells.iloc[0:0], 5, datetime(2026, 1, 1, tzinfo=UTC))
    assert "<script>" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D $x_1$" in html
    assert len(parse_page(html).images) == 1
