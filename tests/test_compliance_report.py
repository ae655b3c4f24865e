"""The compliance report: one per publication plus an index; it parses, holds the
tables a reviewer needs, shows markup from the data as text, embeds its charts and holds
no person-level data."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from skillpath.publish.commands import render_status
from skillpath.publish.publication import Candidate, publish
from skillpath.reports.compliance import write_publication_report
from skillpath.settings import Settings
from tests.fixtures.publish import fairness_org

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


class Page(HTMLParser):
    """Tags, section ids, table texts and image sources of a page; fails on tags that
    are never closed."""

    VOID: ClassVar[set[str]] = {"meta", "img", "br", "link", "hr", "input"}

    def __init__(self, text: str) -> None:
        super().__init__()
        self.open: list[str] = []
        self.sections: list[str] = []
        self.tables = 0
        self.cells: list[str] = []
        self.images: list[str] = []
        self.scripts = 0
        self.links: list[str] = []
        self.feed(text)
        self.close()
        assert self.open == [], f"unclosed tags: {self.open}"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        self.tables += tag == "table"
        self.scripts += tag == "script"
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "a":
            self.links.append(attrs.get("href", ""))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag not in self.VOID:
            assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
            self.open.pop()

    def handle_data(self, data):
        if data.strip() and ("td" in self.open or "th" in self.open):
            self.cells.append(data.strip())


def _publish(settings: Settings, org):
    evaluation = fairness_org.evaluation(org.candidate)
    candidate = Candidate(org.candidate, "1", None, evaluation, "run-1")
    result = publish(settings, candidate, promote=lambda uri, version: f"champion -> {version}")
    write_publication_report(settings, result.publication_id)
    return result


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory):
    from tests.fixtures.environment import data_environment

    env = data_environment(tmp_path_factory.mktemp("report") / "data")
    settings = Settings.from_mapping(env)
    fair = _publish(settings, fairness_org.build(settings, steer=0.0))
    steered_org = fairness_org.build(settings, steer=0.6, seed=1)
    steered = _publish(settings, steered_org)
    return settings, fair, steered, steered_org


def test_the_report_parses_and_holds_every_section(reports) -> None:
    _, _, steered, _ = reports
    text = (steered.report_dir / "index.html").read_text()
    page = Page(text)
    assert page.sections == [
        "gates",
        "data_quality",
        "model",
        "fairness",
        "privacy",
        "content",
        "provenance",
    ]
    assert page.scripts == 0
    assert page.tables >= 10
    assert "Blocked on" in text and "The previous publication stays current" in text
    for cell in ("female", "male", "exposure_advanced", "hr_employees", "bad_date (2)"):
        assert any(cell in c for c in page.cells), cell
    # charts are embedded; nothing is fetched when the page is opened
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert not re.search(r"""(src|href)=["']https?:""", text)


def test_markup_in_the_data_is_shown_as_text(reports) -> None:
    _, _, steered, _ = reports
    text = (steered.report_dir / "index.html").read_text()
    assert "<script>alert" not in text and "&lt;script&gt;alert(" in text
    assert "<b>Berlin</b>" not in text and "&lt;b&gt;Berlin&lt;/b&gt;" in text


def test_no_person_level_data_in_the_report(reports) -> None:
    _, fair, steered, org = reports
    for result in (fair, steered):
        for path in result.report_dir.iterdir():
            text = path.read_text()
            assert not EMAIL.search(text), path
            assert not set(re.findall(r"[0-9a-f]{64}", text)) & set(org.keys), path
            assert not set(re.findall(r"\bT-\d+\b", text)) & set(org.employee_ids), path


def test_the_index_lists_every_publication_and_status_names_the_reports(reports) -> None:
    settings, fair, steered, _ = reports
    index = (settings.reports_dir / "index.html").read_text()
    page = Page(index)
    assert f"{fair.publication_id}/index.html" in page.links
    assert f"{steered.publication_id}/index.html" in page.links
    assert "published" in page.cells and "blocked" in page.cells
    retention = settings.config.retention  # what is kept, from the configuration in force
    assert f"{retention.events_months} months" in page.cells
    assert f"{retention.quarantine_payload_days} days" in page.cells
    assert f"{retention.publications_months} months" in page.cells
    status = render_status(settings)
    assert str(fair.report_dir / "index.html") in status
    assert str(steered.report_dir / "index.html") in status
    assert str(settings.reports_dir / "index.html") in status


def test_a_new_section_is_a_template_and_a_context_function(reports, tmp_path: Path) -> None:
    from skillpath.reports import compliance
    from skillpath.reports.sections import ReportInputs
    from skillpath.warehouse import connect

    settings, _, steered, _ = reports
    extra = compliance.Section(
        "provenance",
        "Extra",
        lambda inputs: {
            "model_version": "9",
            "fallback": None,
            "mlflow_run_id": "<run>",
            "pipeline_run_id": "p",
            "champion": None,
        },
    )
    summary = _summary(steered)
    with connect(settings.warehouse, read_only=True) as con:
        text = compliance.render(ReportInputs(summary, con, settings.config), [extra])
    assert '<section id="provenance">' in text and "&lt;run&gt;" in text


def _summary(result):
    from skillpath.publish.report import PublicationSummary

    return PublicationSummary.read(result.report_dir / "gates.json")


def test_erasures_are_counted_from_the_erasure_ledger(tmp_path: Path) -> None:
    """``audit.erasures`` as ``skillpath erase`` writes it (suppressions are not
    erasures): the report renders and counts the persons erased."""
    from skillpath.gdpr.tables import ensure_gdpr_tables
    from skillpath.warehouse import connect
    from tests.fixtures.environment import data_environment

    settings = Settings.from_mapping(data_environment(tmp_path / "data"))
    org = fairness_org.build(settings, steer=0.0)
    with connect(settings.warehouse) as con:
        ensure_gdpr_tables(con, b"k")
        con.execute(
            """insert into audit.erasures values
               ('e1', 'erasure', 2, 0, 0, '{}', '{}', timestamp '2026-11-30 10:00', null),
               ('e2', 'suppression', 0, 1, 0, '{}', '{}', timestamp '2026-12-01 10:00', null)"""
        )
    page = Page((_publish(settings, org).report_dir / "index.html").read_text())
    row = page.cells[page.cells.index("persons erased") + 1]
    assert row == "2"
