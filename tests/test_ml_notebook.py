"""notebooks/compare_runs.ipynb runs top to bottom on a tiny tracking store."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ml.evaluate import EvalConfig
from ml.runs import run_training
from ml.train import TrainConfig
from skillpath.settings import Settings
from tests.fixtures.ml.synthetic import make_org, write_marts

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "compare_runs.ipynb"


def test_compare_runs_notebook_executes(skillpath_env):
    settings = Settings.from_env()
    org = make_org(persons=150, items=60, seed=9)
    write_marts(org.marts, settings.warehouse)
    run_training(
        org.marts,
        TrainConfig(epochs=3),
        EvalConfig(),
        settings.mlflow_tracking_uri,
        settings.mlflow_artifact_root,
    )
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(Path.cwd())}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert "title" in str(outputs[-1])  # the top-10 table
