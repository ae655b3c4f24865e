"""The MLflow experiment is marked as model training (MLflow 3's experiment kind), also
a store's experiment created before the mark existed."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ml import tracking


@pytest.mark.parametrize("existed", [False, True], ids=["new", "created-before"])
def test_the_experiment_is_one_of_model_training(tmp_path: Path, existed: bool) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    if existed:  # a store from before the tag: configure adds it
        MlflowClient().create_experiment(tracking.EXPERIMENT)
    experiment_id = tracking.configure(uri, tmp_path / "mlartifacts")
    tags = MlflowClient().get_experiment(experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
