"""`skillpath -v` shows our debug output, not the libraries'."""

from __future__ import annotations

import logging

import pytest

from skillpath.cli import OWN_LOGGERS, configure_logging


@pytest.fixture(autouse=True)
def _restore_levels():
    names = ["", "great_expectations", *OWN_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize("verbose", [False, True])
def test_libraries_only_warn_and_ours_report_progress(verbose: bool) -> None:
    configure_logging(verbose)
    ours = logging.DEBUG if verbose else logging.INFO
    assert logging.getLogger("skillpath.ingest.runner").getEffectiveLevel() == ours
    assert logging.getLogger("ml.train").getEffectiveLevel() == ours
    assert logging.getLogger("great_expectations.core").getEffectiveLevel() == logging.WARNING
