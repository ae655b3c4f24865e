"""The champion alias follows the published model version in the MLflow registry."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from skillpath.publish.champion import MODEL_NAME, promote_champion, registered_version
from skillpath.settings import Settings


def test_champion_moves_to_the_published_version(skillpath_env: Path) -> None:
    uri = Settings.from_env().mlflow_tracking_uri
    assert "left unchanged" in promote_champion(uri, None)
    assert "NOT moved" in promote_champion(uri, "1")  # nothing registered yet: said, not raised

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("t", artifact_location=str(skillpath_env / "art"))
    runs = [client.create_run(experiment).info.run_id for _ in range(2)]
    assert registered_version(uri, runs[0]) is None
    client.create_registered_model(MODEL_NAME)
    for run_id in runs:
        client.create_model_version(MODEL_NAME, source=str(skillpath_env / "m"), run_id=run_id)
    assert registered_version(uri, runs[0]) == "1"
    assert registered_version(uri, runs[1]) == "2"
    assert promote_champion(uri, "2") == f"{MODEL_NAME}@champion -> version 2"
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "2"
