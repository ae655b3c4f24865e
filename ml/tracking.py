"""MLflow: one run per training, comparable with every other run — and with its
baselines — in the UI, without writing code.

Store: a SQLite tracking URI (MLflow 3 no longer accepts the file store for new
features) with artifacts under ``Settings.mlflow_artifact_root``, set as the experiment's
artifact location when it is first created.

A training run is named by date and data (``train 2026-12-05 · 1,000 persons``) and
carries a description (``mlflow.note.content``) saying what it is and how to read it.
It holds the model's figures; every approach the evaluation judged (``model``,
``lightfm``, the baselines, ``vanilla_lightfm``) is a nested child run with the SAME
metric names, so selecting a run's children in the chart or compare view shows the model
beside its baselines. Metric names: ``<protocol>.<stage>[.<slice>]/<metric>`` (the UI
groups charts by the part before ``/``), e.g. ``per_person.published/ndcg_at_10``,
``global_time.raw.new_hires/recall_at_10``; the protocols' counts are
``<protocol>.counts/<count>`` (parent only). The fairness audit follows the same
convention (``fairness.<source>/<metric>.<attribute>.ratio``). Artifacts: ``plots/``
(PNG), ``evaluation/`` (aggregate tables — never a person-level row), ``params.md`` (what
every logged parameter means, and why a parameter is not logged) and the model.

The model is stored *unbound* (``Recommender.unbound``: weights and vocabularies, no
person key) as a pyfunc, registered as ``skillpath-recommender`` with the alias
``challenger``. Load it with::

    from ml.tracking import load_model
    model = load_model("models:/skillpath-recommender@challenger").bind(marts, history)
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from ml import plots
from ml.evaluate import LIGHTFM, MODEL, PER_PERSON, PUBLISHED, VANILLA, ModelEvaluation
from ml.model import Recommender
from ml.params import explain_params
from ml.registry import CHALLENGER, EXPERIMENT, REGISTERED_MODEL
from ml.train import InsufficientData

MODEL_NAME = "recommender"
# the experiment's kind, by which MLflow 3 tells model training from GenAI work (the UI of
# 3.17 still starts in its GenAI view until "Model training" is chosen: README)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
NOTE = "mlflow.note.content"  # the run's description in the UI (markdown)
APPROACH_TAG = "approach"
# what each approach is, as its child run's description says
APPROACHES = {
    MODEL: "what skillpath publishes: LightFM blended with the item-item, skill-gap and "
    "role signals (the parent run's figures are this approach's)",
    LIGHTFM: "the model's LightFM part alone, without the blend",
    "global_popularity": "baseline: what everybody takes",
    "role_popularity": "baseline: what people in the same role take",
    "skill_gap": "baseline rule: content for the skills the person's role needs and they lack",
    VANILLA: "reference: LightFM with identity features and the library's defaults, "
    "the mean over its seeds",
}
HOW_TO_READ = """
**How to read it**

- This run's metrics are the **model's** (what skillpath publishes). Every approach —
  the model, its LightFM part and each baseline — is a **child run with the same metric
  names**: expand this run in the runs table, select it and its children, and open the
  chart view (or *Compare*) to see the model beside its baselines.
- Metric names are `<protocol>.<stage>[.<slice>]/<metric>`. Protocol `per_person`: each
  person's latest 20 % of positives held out (what the model-quality gate judges);
  `global_time`: the latest weeks held out for everyone. Stage `published`: the lists
  people would see (the ranking's rules applied); `raw`: the scores alone. Slice
  `new_hires`, `established` or `dept_<name>` (none: all evaluated persons). Metrics are
  at 10 items per person. `<protocol>.counts/…`: how many persons and positives the
  hold-out had and what it left out.
- Artifacts: `plots/` (metrics by approach and slice, precision–recall@k), `evaluation/`
  (the same figures as tables), `params.md` (what every parameter means).
"""


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


def run_name(kind: str, persons: int, detail: str = "") -> str:
    """``train 2026-12-05 · 1,000 persons``: what ran, on which day (UTC), on how much data."""
    today = datetime.now(UTC).date().isoformat()
    return " · ".join(p for p in (f"{kind} {today}", f"{persons:,} persons", detail) if p)


@contextmanager
def resume(run_id: str) -> Iterator[mlflow.ActiveRun]:
    with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None) as run:
        yield run


@contextmanager
def start_run(name: str | None = None, description: str = "") -> Iterator[mlflow.ActiveRun]:
    """A new run (nested if one is active), named and described."""
    tags = {NOTE: description} if description else None
    with mlflow.start_run(run_name=name, nested=mlflow.active_run() is not None, tags=tags) as run:
        yield run


def append_note(run_id: str, text: str) -> None:
    """Add a paragraph to a run's description (the steps of a training write theirs)."""
    client = MlflowClient()
    note = client.get_run(run_id).data.tags.get(NOTE, "")
    client.set_tag(run_id, NOTE, f"{note.rstrip()}\n\n{text.strip()}\n" if note else text)


def metric_key(
    metric: str, stage: str = PUBLISHED, slice_name: str = "all", protocol: str = PER_PERSON
) -> str:
    """``per_person.published/ndcg_at_10``, ``global_time.raw.new_hires/recall_at_10``:
    the same name for every approach, grouped in the UI by what precedes ``/``."""
    section = f"{protocol}.{stage}" if slice_name == "all" else f"{protocol}.{stage}.{slice_name}"
    return f"{section}/{metric}"


def approach_metrics(evaluation: ModelEvaluation, approach: str) -> dict[str, float]:
    """Every aggregate of one approach, all protocols, stages and slices."""
    out = {}
    for protocol, ev in evaluation.protocols.items():
        rows = ev.table[ev.table["approach"] == approach]
        for r in rows.itertuples():
            out[metric_key(r.metric, r.stage, r.slice, protocol)] = float(r.value)
    return out


def count_metrics(evaluation: ModelEvaluation) -> dict[str, float]:
    return {
        f"{protocol}.counts/{name}": float(value)
        for protocol, ev in evaluation.protocols.items()
        for name, value in ev.counts.items()
    }


def log_evaluation(evaluation: ModelEvaluation, summary: str = "") -> None:
    """In the active run: the model's aggregates and the protocols' counts; one child run
    per approach with the same metric names; the aggregate tables and plots as artifacts;
    the description. Never a per-person figure or list."""
    parent = mlflow.active_run()
    assert parent is not None, "log_evaluation logs into the training's active run"
    mlflow.log_metrics({**approach_metrics(evaluation, MODEL), **count_metrics(evaluation)})
    mlflow.set_tag("gate_protocol", evaluation.gate_protocol)
    approaches = list(dict.fromkeys(evaluation.gate.table["approach"]))
    children = []
    for approach in approaches:
        what = APPROACHES.get(approach, "an approach the evaluation judged")
        with start_run(
            approach,
            f"**{approach}** — {what}. Same hold-out and metric names "
            "as its parent run, so the two compare side by side.",
        ) as child:
            mlflow.set_tag(APPROACH_TAG, approach)
            mlflow.log_metrics(approach_metrics(evaluation, approach))
            children.append(child.info.run_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, ev in evaluation.protocols.items():
            wide = ev.table.pivot_table(
                index=["stage", "slice", "metric"], columns="approach", values="value"
            )
            ev.table.to_csv(folder / f"{name}_metrics_long.csv", index=False)
            wide.to_csv(folder / f"{name}_metrics_by_approach.csv")
            ev.curve.to_csv(folder / f"{name}_precision_recall_at_k.csv", index=False)
        mlflow.log_artifacts(tmp, artifact_path="evaluation")
    with tempfile.TemporaryDirectory() as tmp:
        plots.evaluation_plots(evaluation, Path(tmp))
        mlflow.log_artifacts(tmp, artifact_path="plots")
    compare = _compare_link(parent.info.experiment_id, children)
    append_note(
        parent.info.run_id,
        f"**Evaluation** ({len(approaches)} approaches, child runs): {summary}\n\n"
        f"[Compare the model with its baselines]({compare}) (every metric side by side)\n"
        f"{HOW_TO_READ}",
    )


def _compare_link(experiment_id: str, run_ids: list[str]) -> str:
    """The UI's compare view of ``run_ids`` (a link relative to the UI's own page)."""
    runs = quote(json.dumps(run_ids, separators=(",", ":")))
    return f"#/compare-runs?runs={runs}&experiments={quote(json.dumps([experiment_id]))}"


TUNED_BY = "skillpath.tuned_by"  # on a training run: the tuning run its settings come from
USED_BY = "skillpath.used_by"  # on a tuning run: the latest training run that used it
APPLIED_TO = "skillpath.applied_to"  # on a tuning run: the configuration file it wrote


def record_tuning(run_id: str, tuned_by: str) -> None:
    """Lineage both ways when the training's hyper-parameters come from a tuning run
    (``[training] tuned_by``); a tuning run missing from this store is said, not fatal."""
    if not tuned_by:
        return
    client = MlflowClient()
    client.set_tag(run_id, TUNED_BY, tuned_by)
    try:
        client.set_tag(tuned_by, USED_BY, run_id)
        where = f"tuning run `{tuned_by}`"
    except mlflow.exceptions.MlflowException:
        where = f"tuning run `{tuned_by}` (not in this tracking store)"
    append_note(
        run_id, f"**Hyper-parameters** from the best trial of {where} (`skillpath tune --apply`)."
    )


def note_skipped(run_id: str, reason: str) -> None:
    """Why a run has no evaluation, in its tags and its description."""
    MlflowClient().set_tag(run_id, "evaluation", f"skipped: {reason}")
    append_note(run_id, f"**Evaluation skipped**: {reason}")


def note_insufficient(run_id: str, exc: InsufficientData) -> None:
    """Why a run has no model: tags, the figures as metrics, the description."""
    client = MlflowClient()
    client.set_tag(run_id, "status", "insufficient_data")
    client.set_tag(run_id, "reason", str(exc))
    for name, value in exc.figures.items():
        client.log_metric(run_id, f"training/{name}", float(value))
    append_note(run_id, f"**No model**: {exc}")


def _loggable(value: object) -> object:
    return json.dumps(value) if isinstance(value, list | dict | tuple) else value


def log_model(
    model: Recommender,
    sizes: Mapping[str, int],
    register: bool = True,
    run_id: str | None = None,
    recipe_from: str = "",
) -> Recommender:
    """Log params (each explained in ``params.md``), sizes, the validation figures and the
    unbound model in the run ``run_id`` (the training's run, where its evaluation already
    is; not active) or in a new run (nested if one is active); register it as the
    challenger. ``recipe_from``: where the recipe was chosen, when not by this fit's own
    validation. Returns the model carrying its ``run_id``."""
    nested = mlflow.active_run() is not None
    with mlflow.start_run(run_id=run_id, nested=nested) as run:
        explained = explain_params(model.params, recipe_from)
        mlflow.log_params({k: _loggable(v) for k, v in explained.params.items()})
        mlflow.log_metrics(
            {**explained.metrics, **{f"dataset/{k}": float(v) for k, v in sizes.items()}}
        )
        for step, value in enumerate(model.params.get("validation_curve", []), start=1):
            mlflow.log_metric("validation/lightfm_ndcg_at_10", float(value), step=step)
        mlflow.log_text(explained.markdown, "params.md")
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=RecommenderPyfunc(model.unbound()),
            pip_requirements=["lightfm-next", "numpy", "pandas", "scipy"],
            registered_model_name=REGISTERED_MODEL if register else None,
        )
        version = info.registered_model_version if register else None
        if version is not None:
            MlflowClient().set_registered_model_alias(REGISTERED_MODEL, CHALLENGER, str(version))
    registered = (
        f"registered as `{REGISTERED_MODEL}` version {version} (alias `{CHALLENGER}`)"
        if version is not None
        else "not registered"
    )
    append_note(
        run.info.run_id,
        f"**Model**: {model.params['epochs_trained']} LightFM epochs on "
        f"{sizes.get('n_interactions', 0):,} interactions of {sizes.get('n_persons', 0):,} "
        f"persons; {explained.recipe}; {registered}.",
    )
    return replace(model, run_id=run.info.run_id)


def load_model(uri: str) -> Recommender:
    """The unbound ``Recommender`` behind a model URI (``models:/name@alias``,
    ``runs:/<id>/recommender``); bind it to marts before scoring."""
    loaded = mlflow.pyfunc.load_model(uri)
    return loaded.unwrap_python_model().recommender


def fairness_key(name: str) -> str:
    """``fairness.candidate.exposure_advanced.gender.ratio`` →
    ``fairness.candidate/exposure_advanced.gender.ratio``: one chart section per source."""
    parts = name.split(".", 2)
    return f"{parts[0]}.{parts[1]}/{parts[2]}" if len(parts) == 3 else name.replace(".", "/", 1)


def log_audit(
    run_id: str,
    metrics: dict[str, float],
    tables: dict[str, pd.DataFrame],
    report_dir: Path | None = None,
) -> None:
    """The publication's fairness figures (``fairness.<source>/<metric>.<attribute>.ratio``
    …) as metrics, its group-level tables, a plot of the ratios and its compliance report
    as artifacts, on the training run the publication came from — so runs compare on
    fairness too."""
    with resume(run_id):
        mlflow.log_metrics({fairness_key(k): v for k, v in metrics.items() if math.isfinite(v)})
        with tempfile.TemporaryDirectory() as tmp:
            for name, frame in tables.items():
                frame.to_csv(Path(tmp) / f"{name}.csv", index=False)
            plots.fairness_plot(tables.get("fairness_attributes"), Path(tmp))
            mlflow.log_artifacts(tmp, artifact_path="fairness")
        if report_dir is not None:
            mlflow.log_artifacts(str(report_dir), artifact_path="compliance_report")
