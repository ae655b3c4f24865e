"""The MLflow side of a publication: which model version is the candidate, and moving
the ``champion`` alias to it once its recommendations are current."""

from __future__ import annotations

import logging

from ml.registry import CHAMPION
from ml.registry import REGISTERED_MODEL as MODEL_NAME

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
