"""Assets of the marts stage: ``dbt build`` over the dbt project (every model an asset,
every dbt test an asset check, all in group ``marts``), and the org skill-gap heatmap."""

import os
from collections.abc import Iterator
from unittest import mock

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_project import dbt_project, ensure_manifest
from orchestration.resources import SkillpathResource
from skillpath.reports.org_skill_gaps import write_org_skill_gap_heatmap
from skillpath.warehouse import connect, ensure_layout

ORG_SKILL_GAP_MARTS = [
    dg.AssetKey(["marts", "mart_org_skill_gaps"]),
    dg.AssetKey(["marts", "mart_org_skill_category_gaps"]),
]


@dbt_assets(manifest=ensure_manifest(), project=dbt_project)
def skillpath_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, skillpath: SkillpathResource
) -> Iterator:
    """dbt runs with the project as working directory, so the warehouse goes to it as an
    absolute path. The raw layout is created first: without ingested optional sources the
    models still build, on empty tables."""
    warehouse = skillpath.settings().warehouse
    with connect(warehouse) as con:
        ensure_layout(con)
    # the dbt process copies the environment when it starts, inside cli(); patch.dict
    # restores it afterwards. When only some models are selected (a subset in the UI),
    # "cautious" keeps dbt from running relationship tests against models that were not
    # selected and may not exist yet; a full build runs every test either way.
    env = {
        "SKILLPATH_WAREHOUSE": str(warehouse),
        "DBT_INDIRECT_SELECTION": os.environ.get("DBT_INDIRECT_SELECTION", "cautious"),
    }
    with mock.patch.dict(os.environ, env):
        invocation = dbt.cli(["build"], context=context)
    yield from invocation.stream()


@dg.asset(deps=ORG_SKILL_GAP_MARTS, group_name="marts", kinds={"matplotlib", "html"})
def org_skill_gap_heatmap(
    context: dg.AssetExecutionContext, skillpath: SkillpathResource
) -> dg.MaterializeResult:
    """HR's report of where the organisation lacks the skills its roles require:
    department × skill category, one self-contained HTML page, small groups suppressed as
    in the marts."""
    settings = skillpath.settings()
    report = write_org_skill_gap_heatmap(
        settings.warehouse, settings.reports_dir / "org_skill_gaps"
    )
    context.log.info("org skill-gap report written to %s", report.html)
    return dg.MaterializeResult(
        metadata={
            "html": dg.MetadataValue.path(str(report.html)),
            "departments": report.departments,
            "skill_categories": report.categories,
            "cells_shown": report.cells_shown,
            "cells_suppressed": report.cells_suppressed,
        }
    )
