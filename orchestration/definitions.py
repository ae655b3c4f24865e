"""The one place Dagster loads skillpath from: ``make ui`` runs ``dagster dev``, which
reads ``[tool.dagster]`` of pyproject.toml (this module, code location ``skillpath``).

Everything runs in one process: DuckDB allows a single writing process per file, so the
in-process executor keeps assets that write the warehouse from racing for its lock. Assets
hand values over through ``io_manager.WarehouseIOManager``: nothing person-level in
Dagster's storage.
"""

import dagster as dg

from orchestration import jobs, schedules, sensors
from orchestration.assets import ingest, marts, ml, publish
from orchestration.checks import ingest as ingest_checks
from orchestration.checks import ml as ml_checks
from orchestration.checks import publish as publish_checks
from orchestration.dbt_project import dbt_resource
from orchestration.io_manager import WarehouseIOManager
from orchestration.resources import SkillpathResource

# pyproject.toml [tool.dagster] code_location_name: the UI lists a run under its job only
# when the run is labelled with its repository and code location
CODE_LOCATION = "skillpath"


def code_location_tags() -> dict[str, str]:
    """Tags that attach a run executed in this process (``skillpath run``) to its job in
    the UI's code location, as if the UI had launched it."""
    from dagster._core.definitions.repository_definition.valid_definitions import (
        SINGLETON_REPOSITORY_NAME,
    )
    from dagster._core.storage.tags import REPOSITORY_LABEL_TAG

    return {REPOSITORY_LABEL_TAG: f"{SINGLETON_REPOSITORY_NAME}@{CODE_LOCATION}"}


skillpath = SkillpathResource()
defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, marts, ml, publish]),
    asset_checks=dg.load_asset_checks_from_modules([ingest_checks, ml_checks, publish_checks]),
    jobs=jobs.JOBS,
    schedules=schedules.SCHEDULES,
    sensors=sensors.SENSORS,
    resources={
        "skillpath": skillpath,
        "dbt": dbt_resource(),
        "io_manager": WarehouseIOManager(skillpath=skillpath),
    },
    executor=dg.in_process_executor,
)
