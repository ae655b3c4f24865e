"""``skillpath tune``: the warehouse's marts into ``ml.tuning``, starting from the
configured ``[training]`` values, and ``--apply``: the best trial as a configuration
file for the next run (``ml`` itself knows neither settings nor files).

The file (``<data dir>/tuned.toml``) is a ``SKILLPATH_CONFIG`` file: the one named by
``SKILLPATH_CONFIG`` now (if any) with ``[training]``'s searched hyper-parameters set to
the best trial's and ``tuned_by`` set to the tuning run, so pointing ``SKILLPATH_CONFIG``
at it keeps the operator's other settings. Each training run with it records the tuning
run (``skillpath.tuned_by``), and the tuning run records the file and that training run.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path

from ml.data import load_marts
from ml.evaluate import PRIMARY_METRIC
from ml.tuning import SPACE, Tuning, tune
from orchestration.assets.ml import train_config
from skillpath.config import CONFIG_ENV
from skillpath.settings import Settings
from skillpath.warehouse import connect

TUNED_FILE = "tuned.toml"


def tune_on_warehouse(settings: Settings, trials: int) -> Tuning:
    with connect(settings.warehouse, read_only=True) as con:
        marts = load_marts(con)
    base = train_config(settings.config)
    return tune(
        marts, trials, settings.mlflow_tracking_uri, settings.mlflow_artifact_root, base=base
    )


def summary(tuning: Tuning) -> str:
    """The best trial in one line."""
    changed = ", ".join(f"{k}={v}" for k, v in tuning.changed.items()) or "no change"
    return f"best {PRIMARY_METRIC} = {tuning.score:.4f} ({changed}); tuning run {tuning.run_id}"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string is a JSON string


def _toml(data: Mapping[str, object], prefix: str = "") -> list[str]:
    scalars = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, Mapping)]
    lines = ([f"[{prefix}]"] if prefix and scalars else []) + scalars
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", *_toml(value, f"{prefix}.{key}" if prefix else key)]
    return lines


def apply_tuning(settings: Settings, env: Mapping[str, str], tuning: Tuning) -> Path:
    """Write ``<data dir>/tuned.toml``: the current ``SKILLPATH_CONFIG`` file's settings
    (``env``'s) with the best trial's hyper-parameters and ``tuned_by``; tag the tuning run
    with the file. Raises ValueError when the tuning has no best trial."""
    if tuning.best is None:
        raise ValueError("the tuning has no trial that trained: nothing to apply")
    from mlflow import MlflowClient

    from ml.tracking import APPLIED_TO

    target = settings.data_dir / TUNED_FILE
    own = env.get(CONFIG_ENV)
    data: dict[str, object] = {}
    if own:
        data = tomllib.loads(Path(own).expanduser().read_text(encoding="utf-8"))
    training = dict(data.get("training", {}))  # type: ignore[call-overload]
    training.update({k: getattr(tuning.best, k) for k in SPACE})
    training["tuned_by"] = tuning.run_id
    data["training"] = training
    header = [
        f"# Written by `skillpath tune --apply` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"# from MLflow tuning run {tuning.run_id}: best {PRIMARY_METRIC} {tuning.score:.4f}.",
        *([f"# Every other setting is copied from {own} (its comments are not)."] if own else []),
        f"# Use it: export {CONFIG_ENV}={target}",
    ]
    text = "\n".join(header + _toml(data)).replace("\n\n\n", "\n\n") + "\n"
    if tomllib.loads(text) != data:  # the writer above knows only simple values
        raise ValueError(f"{own}: a value could not be written back as TOML; apply by hand")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    MlflowClient(settings.mlflow_tracking_uri).set_tag(tuning.run_id, APPLIED_TO, str(target))
    return target
