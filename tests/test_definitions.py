"""The Dagster code location loads, with the jobs people run by name."""

import dagster as dg

from orchestration.definitions import defs


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    assert {"ingest", "pipeline"} <= set(repo.job_names)
