"""The local Dagster instance (run history under ``DAGSTER_HOME``) that ``skillpath run``
records its runs in and ``make ui`` shows; ``orchestration.recovery`` closes runs in it."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from skillpath.settings import Settings


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # local storage under DAGSTER_HOME; an offline host sends no telemetry, and the UI
        # shows no newsletter sign-up (it loads a frame from the internet)
        config.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    return dg.DagsterInstance.get()
