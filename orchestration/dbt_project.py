"""The dbt project as Dagster sees it. The manifest is prepared by ``make install``
(``skillpath prepare``), by ``dagster dev`` (``prepare_if_dev``), or on first load when
it is missing, so a fresh clone never fails on a missing ``manifest.json``."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest() -> Path:
    dbt_project.preparer.prepare(dbt_project)
    return dbt_project.manifest_path


def ensure_manifest() -> Path:
    dbt_project.prepare_if_dev()
    if not dbt_project.manifest_path.exists():
        prepare_manifest()
    return dbt_project.manifest_path
