"""``skillpath tune``: the warehouse's marts into ``ml.tuning``, with the locations of
the settings (``ml`` itself knows neither)."""

from __future__ import annotations

from ml.data import load_marts
from ml.evaluate import PRIMARY_METRIC
from ml.tuning import tune
from skillpath.settings import Settings
from skillpath.warehouse import connect


def tune_on_warehouse(settings: Settings, trials: int) -> str | None:
    """The best trial in one line, or None when no trial could train."""
    with connect(settings.warehouse, read_only=True) as con:
        marts = load_marts(con)
    config, score = tune(marts, trials, settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
    if config is None:
        return None
    return f"best {PRIMARY_METRIC} = {score:.4f} with {config.as_params()}"
