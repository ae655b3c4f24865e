"""Resources read their locations and configuration from the environment (README,
"Configuration"), with the same defaults as ``skillpath.settings`` so the CLI, tests and
the UI agree."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import dagster as dg

from skillpath.lock import LockBusy
from skillpath.settings import Settings, make_private


class SkillpathResource(dg.ConfigurableResource):
    """Locations of the landing directory, warehouse, reports and MLflow store, and the
    configuration (``skillpath/config.toml``, ``SKILLPATH_CONFIG``).

    Empty fields fall back to the environment variables, so one definition serves
    ``skillpath run``, the Dagster UI and tests that point the variables at a temporary
    directory; a field that is set wins over its variable.

    Every run that uses it holds the warehouse's run-level lock (``skillpath.lock``) from
    its first step to its last, wherever it was launched (``skillpath run``, the UI, a
    schedule or a sensor): a run waits up to ``operations.dagster_lock_wait_seconds``
    for another command, then fails saying who holds the warehouse.
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

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[SkillpathResource]:
        """Every file a run writes is its owner's only (docs/privacy.md, Files); a run holds
        the warehouse's run-level lock while it executes (``skillpath.lock``)."""
        settings = self.settings()
        make_private(settings)
        if context.dagster_run is None:  # a sensor or schedule evaluation: no run to lock for
            yield self
            return
        from orchestration.recovery import locked

        wait = settings.config.operations.dagster_lock_wait_seconds
        stack = contextlib.ExitStack()
        try:
            session = stack.enter_context(locked(settings, f"dagster run {context.run_id}", wait))
        except LockBusy as exc:
            raise dg.Failure(str(exc)) from exc
        with stack:
            session.note_dagster_run(context.run_id)
            yield self
