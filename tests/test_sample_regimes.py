"""Robustness regimes (``skillpath sample --regime``): each is the same kind of plausible
organisation, with the property it claims — where the claim is relative, compared with
the default organisation of the same seed — and exports that ingest without quarantine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skillpath.ingest import ingest_source
from skillpath.sample import SampleConfig
from skillpath.sample.regimes import REGIMES
from skillpath.settings import Settings
from tests.fixtures.environment import data_environment
from tests.fixtures.sample_org import Org, make_org
from tests.test_sample_determinism import digests

# a year: what a regime claims about people's habits shows over months, not weeks
SIZE = {"employees": 60, "months": 12, "seed": 5}


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory):
    """The organisation of each regime, generated once per module when first asked for."""
    made: dict[str, Org] = {}

    def get(regime: str) -> Org:
        if regime not in made:
            made[regime] = make_org(tmp_path_factory.mktemp(regime), regime=regime, **SIZE)
        return made[regime]

    return get


def _launches(org: Org) -> pd.DataFrame:
    """Launches of catalogue items that are not mandatory: employee, item, day."""
    ev = org.events()
    catalog = org.csv("lms/catalog.csv")
    chosen = catalog.loc[catalog["mandatory"] == "false", "content_id"]
    ev = ev[(ev["verb"] == "launched") & ev["object_id"].isin(chosen)]
    return ev.assign(day=ev["ts"].dt.date)


def _top_reach(org: Org) -> float:
    """Share of the persons with any activity that started the most started chosen item."""
    launches = _launches(org)
    return (
        launches.groupby("object_id")["employee_id"].nunique().max()
        / org.events()["employee_id"].nunique()
    )


def _bingers(org: Org) -> float:
    """Share of the persons with any activity who launched 5+ items on one day."""
    per_day = _launches(org).groupby(["employee_id", "day"])["object_id"].nunique()
    many = per_day[per_day >= 5].index.get_level_values("employee_id").nunique()
    return many / org.events()["employee_id"].nunique()


def _long_dormant(org: Org) -> float:
    """Share of the persons employed throughout the window who went half of it (whole
    calendar months in a row) without a single statement."""
    config = org.summary.config
    employees = org.csv("hr/employees.csv")
    throughout = employees[
        (pd.to_datetime(employees["hire_date"]) < pd.Timestamp(config.start_date))
        & (employees["leave_date"] == "")
    ]["employee_id"]
    ev = org.events()
    month = (ev["ts"].dt.year - config.start_date.year) * 12 + ev["ts"].dt.month - 1
    month -= config.start_date.month - 1
    active = pd.crosstab(ev["employee_id"], month).reindex(throughout, fill_value=0) > 0
    active = active.reindex(columns=range(config.months), fill_value=False).to_numpy()
    longest = np.zeros(len(active), dtype=int)
    run = np.zeros(len(active), dtype=int)
    for m in range(config.months):
        run = np.where(active[:, m], 0, run + 1)
        longest = np.maximum(longest, run)
    return float((longest >= config.months // 2).mean())


def test_every_regime_is_documented_in_the_cli_help(capsys) -> None:
    from skillpath.cli import main

    assert main(["sample", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split("--regime", 1)[1].split())
    assert all(name in help_text for name in REGIMES)
    with pytest.raises(ValueError, match="heavy-tail"):
        SampleConfig(regime="heavy_tail")


def test_no_taxonomy_exports_only_hr_catalogue_and_statements(org, tmp_path: Path) -> None:
    lean = org("no-taxonomy")
    written = {str(p.relative_to(lean.landing)) for p in lean.landing.rglob("*.csv")}
    assert written == {
        "hr/employees.csv",
        "hr/sensitive_attributes.csv",
        "hr/roles.csv",
        "hr/personalisation_consent.csv",
        "lms/catalog.csv",
    }
    assert lean.statement_files()
    # the same people learn the same way: only the exports differ
    full = org("default").landing
    assert digests(lean.landing / "lms" / "statements") == digests(full / "lms" / "statements")
    assert (lean.landing / "lms/catalog.csv").read_bytes() == (
        full / "lms/catalog.csv"
    ).read_bytes()
    # written over a full organisation, it leaves none of its taxonomy or surveys behind
    rewritten = make_org(tmp_path, employees=20, months=1)
    make_org(tmp_path, employees=20, months=1, regime="no-taxonomy")
    assert not (rewritten.landing / "skills" / "skills.csv").exists()
    assert not list((rewritten.landing / "surveys").glob("*.csv"))


def test_heavy_tail_has_chosen_items_that_reach_most_people(org) -> None:
    assert _top_reach(org("heavy-tail")) >= 0.5
    assert _top_reach(org("default")) < 0.3


def test_binge_learners_take_many_items_in_one_day_within_office_hours(org) -> None:
    binge = org("binge")
    assert _bingers(binge) >= 0.15
    assert _bingers(org("default")) <= 0.05
    hours = _launches(binge)["ts"].dt.hour
    assert hours.between(7, 21).all()


def test_catalogue_sizes(org) -> None:
    for regime, low, high in (("small-catalog", 20, 100), ("large-catalog", 5000, 10_000)):
        o = org(regime)
        catalog = o.csv("lms/catalog.csv")
        assert low <= len(catalog) <= high and catalog["content_id"].is_unique
        assert (catalog["mandatory"] == "true").sum() == 4
        taught = o.csv("lms/content_skills.csv")
        assert set(taught["content_id"]) == set(catalog["content_id"])
        pre = o.csv("lms/prerequisites.csv")
        assert pre.stack().isin(catalog["content_id"]).all()


def test_dormant_persons_go_half_the_window_without_learning(org) -> None:
    assert _long_dormant(org("dormant")) >= 0.15
    assert _long_dormant(org("default")) <= 0.05


def test_a_regime_is_deterministic_under_its_seed(org, tmp_path: Path) -> None:
    again = make_org(tmp_path, regime="binge", **SIZE)
    assert digests(again.root) == digests(org("binge").root)


@pytest.mark.parametrize("regime", [r for r in REGIMES if r != "default"])
def test_regime_exports_ingest_without_quarantine(
    regime: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two months are enough for the shapes of the files (the properties need a year)."""
    for name, value in data_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    o = make_org(settings.landing_dir.parent, employees=40, months=2, regime=regime)
    present = [
        table
        for table, path in (
            ("hr_employees", "hr/employees.csv"),
            ("lms_catalog", "lms/catalog.csv"),
            ("lms_content_skills", "lms/content_skills.csv"),
            ("lms_prerequisites", "lms/prerequisites.csv"),
            ("lms_statements", "lms/statements"),
        )
        if (o.landing / path).exists()
    ]
    for table in present:
        files = ingest_source(settings, table).files
        assert files and all(f.rows_quarantined == 0 and f.rows_loaded > 0 for f in files), table
