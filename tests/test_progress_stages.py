"""The stage lines of ``skillpath run``: every step of a job belongs to a named stage, so
an asset added later cannot fall into an unnamed "other steps" line out of order."""

from __future__ import annotations

import pytest

from orchestration.definitions import defs
from orchestration.progress import OTHER, stage_by_step


@pytest.mark.parametrize("job_name", ["pipeline", "ingest"])
def test_every_step_of_a_job_has_a_named_stage(job_name: str) -> None:
    stages = stage_by_step(defs, defs.resolve_job_def(job_name))
    assert stages, "the job has steps"
    assert [step for step, stage in stages.items() if stage is OTHER] == []
