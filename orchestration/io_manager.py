"""How assets hand their values to each other without leaving person-level data in
Dagster's storage (docs/privacy.md, "Dagster and MLflow").

Dagster's default I/O manager pickles every output under ``DAGSTER_HOME/storage``: the
marts snapshot, the model bound to every person, the candidate lists — copies that
erasure and retention would have to find. This one:

- within a run hands each value over in memory (the in-process executor runs all steps
  of a run in one process), so nothing is written for the next step;
- persists only what a later run needs to load the value again (a person re-materializes
  one asset in the UI), in the warehouse, where erasure and retention reach everything:
  a DataFrame in ``ml.<asset>``; the marts snapshot as nothing but its row counts (the
  marts are read again, with a warning when they changed since); a model in its unbound
  form (weights and vocabularies, as MLflow stores it), bound again to the marts; plain
  values (figures, summaries) as they are, in ``ml.dagster_outputs``;
- refuses any other type, so a new asset has to say how it hands persons over.
"""

from __future__ import annotations

import pickle
from typing import Any

import dagster as dg
import pandas as pd

from ml.data import MART_TABLES, Marts, load_marts
from ml.dataset import build_interactions
from ml.model import Recommender
from orchestration.resources import SkillpathResource
from skillpath.warehouse import connect

_OUTPUTS = "ml.dagster_outputs"
_PLAIN = (dict, list, tuple, str, int, float, bool, type(None))
# (run id, asset) -> value: the current run's outputs, handed over in memory
_in_run: dict[tuple[str, str], Any] = {}


def _name(key: dg.AssetKey) -> str:
    return "__".join(key.path)


def _mart_counts(con) -> dict[str, int]:
    return {
        t: con.execute(f"select count(*) from marts.{t}").fetchall()[0][0]
        for t in sorted(MART_TABLES.values())
    }


def _contains_frames(value: Any) -> bool:
    if isinstance(value, pd.DataFrame):
        return True
    if isinstance(value, dict):
        return any(_contains_frames(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_contains_frames(v) for v in value)
    return False


class WarehouseIOManager(dg.ConfigurableIOManager):
    """The I/O manager of every asset (``orchestration.definitions``)."""

    skillpath: SkillpathResource

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        name = _name(context.asset_key)
        for stale in [k for k in _in_run if k[0] != context.run_id]:
            del _in_run[stale]
        _in_run[(context.run_id, name)] = obj
        kind, stored = self._persisted(name, obj)
        with connect(self.skillpath.settings().warehouse) as con:
            con.execute("create schema if not exists ml")
            con.execute(
                f"create table if not exists {_OUTPUTS} "
                "(asset varchar, run_id varchar, kind varchar, value blob)"
            )
            if kind == "marts":
                stored = _mart_counts(con)
            elif kind == "frame":
                con.register("_sp_output", obj)
                try:
                    con.execute(f'create or replace table ml."{name}" as select * from _sp_output')
                finally:
                    con.unregister("_sp_output")
            con.execute(f"delete from {_OUTPUTS} where asset = ?", [name])
            con.execute(
                f"insert into {_OUTPUTS} values (?, ?, ?, ?)",
                [name, context.run_id, kind, pickle.dumps(stored)],
            )

    @staticmethod
    def _persisted(name: str, obj: Any) -> tuple[str, Any]:
        """(kind, what is stored in ``ml.dagster_outputs``): never a person."""
        if isinstance(obj, pd.DataFrame):
            return "frame", None
        if isinstance(obj, Marts):
            return "marts", {}
        if isinstance(obj, Recommender):
            return "model", obj.unbound()
        if isinstance(obj, _PLAIN) and not _contains_frames(obj):
            return "plain", obj
        raise TypeError(
            f"asset {name} returned a {type(obj).__name__}: orchestration/io_manager.py "
            "does not know how to hand it over without storing persons; return a "
            "DataFrame, figures, or add the type there"
        )

    def load_input(self, context: dg.InputContext) -> Any:
        name = _name(context.asset_key)
        run_id = context.step_context.run_id
        if (run_id, name) in _in_run:
            return _in_run[(run_id, name)]
        settings = self.skillpath.settings()
        with connect(settings.warehouse, read_only=True) as con:
            rows = con.execute(
                f"select kind, value from {_OUTPUTS} where asset = ?", [name]
            ).fetchall()
            if not rows:
                raise dg.Failure(f"{name} has not been materialized yet: materialize it first")
            [(kind, value)] = rows
            stored = pickle.loads(value)
            if kind == "frame":
                return con.execute(f'select * from ml."{name}"').df()
            if kind == "plain":
                return stored
            marts = load_marts(con)
            if kind == "marts":
                if _mart_counts(con) != stored:
                    context.log.warning(
                        f"the marts changed since {name} was materialized (a later dbt "
                        "build): its consumers now read the current marts"
                    )
                return marts
        return stored.bind(marts, build_interactions(marts))
