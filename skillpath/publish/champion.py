"""The MLflow side of a publication: which model version is the candidate, moving
the ``champion`` alias to it once its recommendations are current, and recording the
publication's fairness figures and compliance report on the training run."""

from __future__ import annotations

import logging
from pathlib import Path

from ml.registry import CHAMPION
from ml.registry import REGISTERED_MODEL as MODEL_NAME
from skillpath.publish.fairness import fairness_tables, mitigation_metrics, mlflow_metrics
from skillpath.settings import Settings
from skillpath.warehouse import connect

log = logging.getLogger(__name__)


def _client(tracking_uri: str):
    from mlflow import MlflowClient  # slow import, only when a model is involved

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def registered_version(tracking_uri: str, run_id: str, model_name: str = MODEL_NAME) -> str | None:
    """The registry version logged by this training run — not whatever ``challenger``
    points at now, which a tuning run may have moved meanwhile. None when unregistered."""
    try:
        versions = _client(tracking_uri).search_model_versions(
            f"name = '{model_name}' and run_id = '{run_id}'"
        )
    except Exception as exc:  # no registry yet: nothing to publish from
        log.info("no %s versions in %s: %s", model_name, tracking_uri, exc)
        return None
    return str(max(int(v.version) for v in versions)) if versions else None


def promote_champion(tracking_uri: str, version: str | None, model_name: str = MODEL_NAME) -> str:
    """Move ``champion`` to ``version``; the returned message goes into the publication
    row. Failure here does not undo the publication (its recommendations are already
    current and were gated), it is reported so someone can set the alias by hand."""
    if version is None:
        return "no registered model version in this publication: champion alias left unchanged"
    try:
        _client(tracking_uri).set_registered_model_alias(model_name, CHAMPION, version)
    except Exception as exc:
        return (
            f"champion alias NOT moved to {model_name} v{version}: {type(exc).__name__}: {exc}; "
            f"set it with MlflowClient().set_registered_model_alias({model_name!r}, "
            f"'champion', {version!r})"
        )
    return f"{model_name}@champion -> version {version}"


def record_in_mlflow(
    settings: Settings, publication_id: str, run_id: str, report_dir: Path
) -> None:
    """The fairness figures, group tables and the compliance report on the training run.
    The publication is decided and recorded by now: a tracking store that cannot be
    written is a warning, not a reason to undo it."""
    from ml.tracking import configure, log_audit  # slow import, only with a training run

    try:
        with connect(settings.warehouse, read_only=True) as con:
            tables = fairness_tables(con, publication_id)
        metrics = mlflow_metrics(tables["fairness_attributes"], tables["fairness_groups"])
        metrics.update(mitigation_metrics(tables))
        configure(settings.mlflow_tracking_uri, settings.mlflow_artifact_root)
        tables = {name: frame.drop(columns="publication_id") for name, frame in tables.items()}
        log_audit(run_id, metrics, tables, report_dir)
    except Exception as exc:  # the tracking store, not the publication, failed
        log.warning(
            "publication %s: not recorded in MLflow run %s: %s", publication_id, run_id, exc
        )
