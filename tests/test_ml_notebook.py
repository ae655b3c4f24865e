"""notebooks/compare_runs.ipynb runs top to bottom on a tiny tracking store with two
runs, and shows what a data scientist opens it for: both runs side by side, every
baseline, the slices, and one person's list with its reasons."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ml.evaluate import EvalConfig
from ml.runs import run_training
from ml.train import TrainConfig
from ml.vanilla import VanillaConfig
from skillpath.settings import Settings
from tests.fixtures.ml.synthetic import make_org, write_marts

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "compare_runs.ipynb"


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.outputs:
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_compare_runs_notebook_executes(skillpath_env):
    settings = Settings.from_env()
    org = make_org(persons=150, items=60, seed=9)
    write_marts(org.marts, settings.warehouse)
    run_ids = [
        run_training(
            org.marts,
            TrainConfig(epochs=epochs),
            EvalConfig(vanilla=VanillaConfig(seeds=(1,))),
            settings.mlflow_tracking_uri,
            settings.mlflow_artifact_root,
        ).run_id
        for epochs in (2, 3)
    ]
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, kernel_name="python3", timeout=180, resources={"metadata": {"path": str(Path.cwd())}}
    ).execute()
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    shown = "\n".join(_text(cell) for cell in code)
    for run_id in run_ids:  # both runs compared, not only the latest
        assert f"[{run_id[:8]}]" in shown
    for approach in ("lightfm", "role_popularity", "global_popularity", "skill_gap"):
        assert approach in shown
    assert "lift" in shown and "established" in shown  # the slices beside "all"
    # the last cells: one person's list with the sentence, then one row per reason
    listing, reasons = _text(code[-2]), _text(code[-1])
    assert "reason_text" in listing and "title" in listing
    types = {"closes_gap", "role_path", "model_match", "preferred_format", "next_level"}
    assert "type" in reasons and any(t in reasons for t in types)
