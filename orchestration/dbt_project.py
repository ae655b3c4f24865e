"""The dbt project as Dagster sees it. The manifest is prepared by ``make install``
(``skillpath prepare``), by ``dagster dev`` (``prepare_if_dev``), or on load when it is
missing or older than the project's files, so neither a fresh clone nor an edited model
leaves Dagster on a missing or stale ``manifest.json``."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

# The one place that knows where the dbt project is: beside the packages in the checkout
# that `make install` installs in editable mode (the supported installation; a wheel
# would not carry dbt_project/). ml reads what dbt built from the marts, never the project.
DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
_SOURCE_DIRS = ("models", "macros", "tests")

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    """dbt through ``skillpath-dbt`` (``orchestration.dbt_guard``: it dies with the run
    that started it), installed beside this interpreter, so a virtualenv that is not
    activated (``.venv/bin/skillpath``, an IDE's test runner) still finds it; dbt itself
    where the launcher is not installed."""
    for name in ("skillpath-dbt", "dbt"):
        beside = Path(sys.executable).parent / name
        if beside.exists():
            return str(beside)
    return shutil.which("dbt") or "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


def prepare_manifest() -> Path:
    """``dbt parse`` with the dbt beside this interpreter: dagster-dbt's own preparer runs
    whatever ``dbt`` is on PATH, which a virtualenv that is not activated does not provide
    (``.venv/bin/python -m pytest`` after a model changed, ``.venv/bin/skillpath run``)."""
    dbt_resource().cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return dbt_project.manifest_path


def _manifest_is_stale() -> bool:
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in _SOURCE_DIRS:
        sources.extend(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    return any(p.stat().st_mtime > built for p in sources)


def ensure_manifest() -> Path:
    dbt_project.prepare_if_dev()
    if _manifest_is_stale():
        prepare_manifest()
    return dbt_project.manifest_path
