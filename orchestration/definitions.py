"""The one place Dagster loads skillpath from (``dagster dev -m orchestration.definitions``).

Everything runs in one process: DuckDB allows a single writing process per file, so the
in-process executor keeps assets that write the warehouse from racing for its lock.
"""

import dagster as dg

from orchestration import jobs, schedules, sensors
from orchestration.assets import ingest, marts, ml, publish
from orchestration.checks import ingest as ingest_checks
from orchestration.checks import ml as ml_checks
from orchestration.checks import publish as publish_checks
from orchestration.dbt_project import dbt_resource
from orchestration.resources import SkillpathResource

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([ingest, marts, ml, publish]),
    asset_checks=dg.load_asset_checks_from_modules([ingest_checks, ml_checks, publish_checks]),
    jobs=jobs.JOBS,
    schedules=schedules.SCHEDULES,
    sensors=sensors.SENSORS,
    resources={
        "skillpath": SkillpathResource(),
        "dbt": dbt_resource(),
    },
    executor=dg.in_process_executor,
)
