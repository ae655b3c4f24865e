"""Resources read their locations from the environment (DESIGN.md), with the same
defaults as ``skillpath.settings`` so the CLI, tests and the UI agree."""

from __future__ import annotations

import os
from unittest import mock

import dagster as dg

from skillpath.settings import Settings


class SkillpathResource(dg.ConfigurableResource):
    """Locations of the landing directory, warehouse, reports and MLflow store.

    Empty fields fall back to the environment variables of DESIGN.md, so one definition
    serves ``skillpath run``, the Dagster UI and tests that point the variables at a
    temporary directory.
    """

    landing_dir: str = ""
    warehouse: str = ""
    reports_dir: str = ""
    mlflow_tracking_uri: str = ""

    def settings(self) -> Settings:
        overrides = {
            "SKILLPATH_LANDING_DIR": self.landing_dir,
            "SKILLPATH_WAREHOUSE": self.warehouse,
            "SKILLPATH_REPORTS_DIR": self.reports_dir,
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
        }
        with mock.patch.dict(os.environ, {k: v for k, v in overrides.items() if v}):
            return Settings.from_env()
