"""Resources read their locations and configuration from the environment (README,
"Configuration"), with the same defaults as ``skillpath.settings`` so the CLI, tests and
the UI agree."""

from __future__ import annotations

import os

import dagster as dg

from skillpath.settings import Settings, make_private


class SkillpathResource(dg.ConfigurableResource):
    """Locations of the landing directory, warehouse, reports and MLflow store, and the
    configuration (``skillpath/config.toml``, ``SKILLPATH_CONFIG``).

    Empty fields fall back to the environment variables, so one definition serves
    ``skillpath run``, the Dagster UI and tests that point the variables at a temporary
    directory; a field that is set wins over its variable.
    """

    landing_dir: str = ""
    warehouse: str = ""
    reports_dir: str = ""
    mlflow_tracking_uri: str = ""
    config_file: str = ""

    def settings(self) -> Settings:
        fields = {
            "SKILLPATH_LANDING_DIR": self.landing_dir,
            "SKILLPATH_WAREHOUSE": self.warehouse,
            "SKILLPATH_REPORTS_DIR": self.reports_dir,
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            "SKILLPATH_CONFIG": self.config_file,
        }
        return Settings.from_mapping({**os.environ, **{k: v for k, v in fields.items() if v}})

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Every file a run writes is its owner's only (docs/privacy.md, Files)."""
        make_private(self.settings())
