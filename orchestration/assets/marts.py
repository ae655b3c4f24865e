"""Assets of the marts stage: ``dbt build`` over the dbt project (every model an asset,
every dbt test an asset check, all in group ``marts``), and the org skill-gap report.

Each model's materialization carries how many of its dbt tests passed and failed in that
build and, for tables, its row count (``dagster/row_count``, charted by the UI across
runs). dagster-dbt's own ``fetch_row_counts`` queries while dbt still runs, which DuckDB
refuses (one process per file when one writes), so the events of the build are held until
dbt has finished, then passed on with the counts of one read-only connection."""

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt_guard import PARENT_ENV
from orchestration.dbt_project import dbt_project, ensure_manifest
from orchestration.resources import SkillpathResource
from skillpath.config import Config
from skillpath.reports.org_skill_gaps import write_org_skill_gap_heatmap
from skillpath.warehouse import connect, ensure_layout

MATERIALIZATIONS = (dg.Output, dg.AssetMaterialization)
ORG_SKILL_GAP_MARTS = [
    dg.AssetKey(["marts", "mart_org_skill_gaps"]),
    dg.AssetKey(["marts", "mart_org_skill_category_gaps"]),
]


def dbt_vars(config: Config) -> str:
    """The dbt vars that come from skillpath's configuration (the others keep the values
    of dbt_project.yml)."""
    return json.dumps({"assignment_iris": list(config.marts.assignment_iris)})


@dbt_assets(manifest=ensure_manifest(), project=dbt_project)
def skillpath_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, skillpath: SkillpathResource
) -> Iterator:
    """dbt runs with the project as working directory, so the warehouse goes to it as an
    absolute path. The raw layout is created first: without ingested optional sources the
    models still build, on empty tables."""
    settings = skillpath.settings()
    warehouse = settings.warehouse
    with connect(warehouse) as con:
        ensure_layout(con)
    # the dbt process copies the environment when it starts, inside cli(); patch.dict
    # restores it afterwards. When only some models are selected (a subset in the UI),
    # "cautious" keeps dbt from running relationship tests against models that were not
    # selected and may not exist yet; a full build runs every test either way.
    env = {
        "SKILLPATH_WAREHOUSE": str(warehouse),
        PARENT_ENV: str(os.getpid()),  # dbt_guard: dbt dies with this process
        "DBT_INDIRECT_SELECTION": os.environ.get("DBT_INDIRECT_SELECTION", "cautious"),
    }
    with mock.patch.dict(os.environ, env):
        invocation = dbt.cli(["build", "--vars", dbt_vars(settings.config)], context=context)
    events, error = [], None
    try:
        events.extend(invocation.stream())
    except Exception as exc:  # a failed dbt build: still report what it built, then fail
        error = exc
    yield from with_table_metadata(events, invocation.manifest, warehouse)
    if error is not None:
        raise error


def _unique_id(event: Any) -> str:
    value = event.metadata.get("unique_id")
    return str(getattr(value, "value", value) or "")


def _test_results(events: list[Any], nodes: dict[str, dict]) -> dict[str, Counter]:
    """model unique_id -> Counter of its dbt tests' outcomes (passed / failed) in this build."""
    results: dict[str, Counter] = {}
    for event in events:
        if isinstance(event, dg.AssetCheckResult | dg.AssetCheckEvaluation):
            model = nodes.get(_unique_id(event), {}).get("attached_node")
            if model:
                results.setdefault(model, Counter())["passed" if event.passed else "failed"] += 1
    return results


def with_table_metadata(events: list[Any], manifest: dict, warehouse: Path) -> Iterator[Any]:
    """The events of a finished dbt invocation, each model's materialization with the
    outcome of its dbt tests and, for tables (not views: counting one runs its query),
    the row count."""
    nodes = manifest.get("nodes", {})
    tests = _test_results(events, nodes)
    with connect(warehouse, read_only=True) as con:
        for event in events:
            node = nodes.get(_unique_id(event)) if isinstance(event, MATERIALIZATIONS) else None
            if node is None or node["resource_type"] != "model":
                yield event
                continue
            outcome = tests.get(node["unique_id"], Counter())
            metadata = {
                **event.metadata,
                "dbt_tests_passed": outcome["passed"],
                "dbt_tests_failed": outcome["failed"],
            }
            if node["config"].get("materialized") != "view":
                table = f'"{node["schema"]}"."{node.get("alias") or node["name"]}"'
                (rows,) = con.execute(f"select count(*) from {table}").fetchone()
                metadata["dagster/row_count"] = dg.MetadataValue.int(rows)
            yield event.with_metadata(metadata)


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
