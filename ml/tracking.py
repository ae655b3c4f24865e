"""MLflow: one run per training, comparable with every other run in the UI.

Store: a SQLite tracking URI (MLflow 3 no longer accepts the file store for new
features) with artifacts under ``Settings.mlflow_artifact_root``, set as the experiment's
artifact location when it is first created. A run logs the parameters, dataset sizes,
the model's and every baseline's metrics per protocol and stage
(``per_person.published.ndcg_at_10``, ``global_time.raw.ndcg_at_10__baseline_role_popularity``,
``per_person.persons``, …), the evaluation tables (aggregates per approach and slice —
never a person-level row) and the model.

The model is stored *unbound* (``Recommender.unbound``: weights and vocabularies, no
person key) as a pyfunc, registered as ``skillpath-recommender`` with the alias
``challenger``. Load it with::

    from ml.tracking import load_model
    model = load_model("models:/skillpath-recommender@challenger").bind(marts, history)
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from ml.evaluate import ModelEvaluation
from ml.model import Recommender
from ml.registry import CHALLENGER, EXPERIMENT, REGISTERED_MODEL

MODEL_NAME = "recommender"
# the experiment's kind, by which MLflow 3 tells model training from GenAI work (the UI of
# 3.17 still starts in its GenAI view until "Model training" is chosen: README)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


class RecommenderPyfunc(mlflow.pyfunc.PythonModel):
    """Carrier of an unbound ``Recommender`` in the MLflow model format.

    ``predict`` takes a DataFrame with a ``person_key`` column and returns scores, but
    only after binding to marts (persons are not stored in the model); use
    ``ml.tracking.load_model`` and ``Recommender.bind`` for anything real.
    """

    def __init__(self, recommender: Recommender) -> None:
        self.recommender = recommender

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        keys = list(pd.DataFrame(model_input)["person_key"].astype(str))
        return pd.DataFrame(self.recommender.score(keys), columns=self.recommender.item_ids)


def configure(tracking_uri: str, artifact_root: Path) -> str:
    """Point MLflow at the store and make sure the experiment exists; its id."""
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        artifact_root.mkdir(parents=True, exist_ok=True)
        experiment_id = client.create_experiment(
            EXPERIMENT, artifact_location=artifact_root.resolve().as_uri()
        )
    else:
        experiment_id = experiment.experiment_id
    for key, value in EXPERIMENT_KIND.items():  # also on experiments created before
        if experiment is None or experiment.tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


@contextmanager
def resume(run_id: str) -> Iterator[mlflow.ActiveRun]:
    with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None) as run:
        yield run


def _loggable(value: object) -> object:
    return json.dumps(value) if isinstance(value, list | dict | tuple) else value


@contextmanager
def start_run() -> Iterator[mlflow.ActiveRun]:
    """A new run (nested if one is active): the run of one training."""
    with mlflow.start_run(nested=mlflow.active_run() is not None) as run:
        yield run


def log_model(
    model: Recommender, sizes: dict[str, int], register: bool = True, run_id: str | None = None
) -> Recommender:
    """Log params, sizes and the unbound model in the run ``run_id`` (the training's run,
    where its evaluation already is; not active) or in a new run (nested if one is active);
    register it as the challenger. Returns the model carrying its ``run_id``."""
    nested = mlflow.active_run() is not None
    with mlflow.start_run(run_id=run_id, nested=nested) as run:
        params = {k: _loggable(v) for k, v in model.params.items() if k != "validation_curve"}
        mlflow.log_params(params)
        mlflow.log_metrics({f"dataset_{k}": float(v) for k, v in sizes.items()})
        for step, value in enumerate(model.params.get("validation_curve", []), start=1):
            mlflow.log_metric("validation_ndcg", float(value), step=step)
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=RecommenderPyfunc(model.unbound()),
            pip_requirements=["lightfm-next", "numpy", "pandas", "scipy"],
            registered_model_name=REGISTERED_MODEL if register else None,
        )
        if register and info.registered_model_version is not None:
            MlflowClient().set_registered_model_alias(
                REGISTERED_MODEL, CHALLENGER, str(info.registered_model_version)
            )
        return replace(model, run_id=run.info.run_id)


def log_evaluation(evaluation: ModelEvaluation) -> None:
    """Aggregates of every protocol, stage, approach and slice (and the protocols' counts)
    in the active run, and the aggregate tables as artifacts — never a per-person figure
    or list."""
    mlflow.log_metrics(evaluation.flat_metrics())
    mlflow.set_tag("gate_protocol", evaluation.gate_protocol)
    with tempfile.TemporaryDirectory() as tmp:
        for name, ev in evaluation.protocols.items():
            wide = ev.table.pivot_table(
                index=["stage", "slice", "metric"], columns="approach", values="value"
            )
            ev.table.to_csv(Path(tmp) / f"{name}_metrics_long.csv", index=False)
            wide.to_csv(Path(tmp) / f"{name}_metrics_by_approach.csv")
        mlflow.log_artifacts(tmp, artifact_path="evaluation")


def load_model(uri: str) -> Recommender:
    """The unbound ``Recommender`` behind a model URI (``models:/name@alias``,
    ``runs:/<id>/recommender``); bind it to marts before scoring."""
    loaded = mlflow.pyfunc.load_model(uri)
    return loaded.unwrap_python_model().recommender


def log_audit(
    run_id: str,
    metrics: dict[str, float],
    tables: dict[str, pd.DataFrame],
    report_dir: Path | None = None,
) -> None:
    """The publication's fairness figures (``fairness.<source>.<metric>.<attribute>.ratio``
    …) as metrics, its group-level tables and its compliance report as artifacts, on the
    training run the publication came from — so runs compare on fairness too."""
    with resume(run_id):
        mlflow.log_metrics(metrics)
        with tempfile.TemporaryDirectory() as tmp:
            for name, frame in tables.items():
                frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
            mlflow.log_artifacts(tmp, artifact_path="fairness")
        if report_dir is not None:
            mlflow.log_artifacts(str(report_dir), artifact_path="compliance_report")
