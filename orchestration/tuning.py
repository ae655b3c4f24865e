"""``skillpath tune``: the warehouse's marts into ``ml.tuning``, with the locations of
the settings (``ml`` itself knows neither)."""

from __future__ import annotations

from ml.data import load_marts
from ml.evaluate import PRIMARY_METRIC
from ml.tuning import tune
from skillpath.settings import Settings
from skillpath.warehouse import connect


def run_tuning(settings: Settings, trials: int) -> int:
    """Exit code 1 when nothing could be trained."""
    with connect(settings.warehouse, read_only=True) as con:
        marts = load_marts(con)
    config, score = tune(marts, trials, settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    if config is None:
        print("tuning: no trial could train (too little data); see the MLflow runs")
        return 1
    print(f"tuning: best {PRIMARY_METRIC} = {score:.4f} with {config.as_params()}")
    return 0
