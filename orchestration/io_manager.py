"""How assets hand their values to each other without leaving person-level data in
Dagster's storage (docs/privacy.md, section 3).

Dagster's default I/O manager pickles every output under ``DAGSTER_HOME/storage``: the
marts snapshot, the model bound to every person, the evaluation's per-person figures, the
candidate lists — copies that erasure and retention would have to find. This one:

- within a run hands each value over in memory (the in-process executor runs all steps
  of a run in one process), so nothing is written for the next step;
- persists only what a later run needs to load the value again (someone re-materializes
  one asset in the UI), in the warehouse, where erasure and retention reach everything:
  the marts snapshot as nothing but its row counts (the marts are read again, with a
  warning when they changed since); a model in its unbound form (weights and
  vocabularies, as MLflow stores it), bound again to the marts; any other value with
  every DataFrame that has a ``person_key`` column taken out into a table
  ``ml."<asset>__<n>"``, the rest pickled in ``ml.dagster_outputs``;
- refuses a value whose person-free rest still holds something shaped like a person key
  (64 hex digits), so a new kind of output cannot slip persons into a pickle.
"""

from __future__ import annotations

import dataclasses
import pickle
import re
from dataclasses import dataclass
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from ml.data import MART_TABLES, Marts, load_marts
from ml.dataset import build_interactions
from ml.model import Recommender
from orchestration.resources import SkillpathResource
from skillpath.warehouse import connect

_OUTPUTS = "ml.dagster_outputs"
_KEY_SHAPED = re.compile(rb"[0-9a-f]{64}")
# (run id, asset) -> value: the current run's outputs, handed over in memory
_in_run: dict[tuple[str, str], Any] = {}


@dataclass(frozen=True)
class _Table:
    """Where a person-level DataFrame of a persisted value went, with what the warehouse
    does not keep of its dtypes: categoricals (a column of person keys as a categorical
    keeps its categories, in order, in a person table of its own, ``<table>__<n>``)."""

    name: str
    categoricals: dict[str, pd.CategoricalDtype]
    person_categoricals: dict[str, tuple[str, bool]]  # column -> (table, ordered)

    def restore(self, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
        frame = con.execute(f'select * from ml."{self.name}"').df()
        dtypes = dict(self.categoricals)
        for column, (table, ordered) in self.person_categoricals.items():
            rows = con.execute(f'select person_key from ml."{table}" order by position')
            categories = [r[0] for r in rows.fetchall()]
            dtypes[column] = pd.CategoricalDtype(categories, ordered=ordered)
        return frame.astype(dtypes) if dtypes else frame


def _person_frame(frame: pd.DataFrame, table: str, frames: dict[str, pd.DataFrame]) -> _Table:
    """Store ``frame`` as ``table`` (categoricals as text: DuckDB would keep their
    categories in its catalogue, out of erasure's reach)."""
    categoricals, person_categoricals = {}, {}
    for column, dtype in frame.dtypes.items():
        if not isinstance(dtype, pd.CategoricalDtype):
            continue
        if _KEY_SHAPED.search(pickle.dumps(list(map(str, dtype.categories)))):
            own = f"{table}__{len(person_categoricals)}"
            frames[own] = pd.DataFrame(
                {"position": range(len(dtype.categories)), "person_key": dtype.categories}
            )
            person_categoricals[str(column)] = (own, bool(dtype.ordered))
        else:
            categoricals[str(column)] = dtype
    frames[table] = (
        frame.astype({c: object for c in [*categoricals, *person_categoricals]})
        if categoricals or person_categoricals
        else frame
    )
    return _Table(table, categoricals, person_categoricals)


def _name(key: dg.AssetKey) -> str:
    return "__".join(key.path)


def _mart_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {
        t: con.execute(f"select count(*) from marts.{t}").fetchall()[0][0]
        for t in sorted(MART_TABLES.values())
    }


def _split(value: Any, name: str, frames: dict[str, pd.DataFrame]) -> Any:
    """``value`` with every person-level DataFrame replaced by a ``_Table`` (collected in
    ``frames``), through dataclasses, dicts, lists and tuples."""
    if isinstance(value, pd.DataFrame):
        if "person_key" not in value.columns:
            return value
        return _person_frame(value, f"{name}__{len(frames)}", frames)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _split(getattr(value, f.name), name, frames)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {k: _split(v, name, frames) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_split(v, name, frames) for v in value)
    return value


def _join(value: Any, con: duckdb.DuckDBPyConnection) -> Any:
    """The inverse of ``_split``: tables read back from the warehouse."""
    if isinstance(value, _Table):
        return value.restore(con)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _join(getattr(value, f.name), con) for f in dataclasses.fields(value) if f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return {k: _join(v, con) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_join(v, con) for v in value)
    return value


class WarehouseIOManager(dg.ConfigurableIOManager):
    """The I/O manager of every asset (``orchestration.definitions``)."""

    skillpath: SkillpathResource

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        name = _name(context.asset_key)
        for stale in [k for k in _in_run if k[0] != context.run_id]:
            del _in_run[stale]
        _in_run[(context.run_id, name)] = obj
        frames: dict[str, pd.DataFrame] = {}
        if isinstance(obj, Marts):
            kind, rest = "marts", None
        elif isinstance(obj, Recommender):
            kind, rest = "model", obj.unbound()
        else:
            kind, rest = "value", _split(obj, name, frames)
        blob = pickle.dumps(rest)
        if _KEY_SHAPED.search(blob):
            raise TypeError(
                f"asset {name} returned a {type(obj).__name__} that holds something shaped "
                "like a person key outside a DataFrame with a person_key column: "
                "orchestration/io_manager.py would store it in a pickle; hand persons over "
                "in such a DataFrame"
            )
        with connect(self.skillpath.settings().warehouse) as con:
            con.execute("create schema if not exists ml")
            con.execute(
                f"create table if not exists {_OUTPUTS} "
                "(asset varchar, run_id varchar, kind varchar, value blob)"
            )
            for table in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'ml' and starts_with(table_name, ?)",
                [f"{name}__"],
            ).fetchall():
                con.execute(f'drop table ml."{table[0]}"')
            for table, frame in frames.items():
                con.register("_sp_output", frame)
                try:
                    con.execute(f'create table ml."{table}" as select * from _sp_output')
                finally:
                    con.unregister("_sp_output")
            if kind == "marts":
                blob = pickle.dumps(_mart_counts(con))
            con.execute(f"delete from {_OUTPUTS} where asset = ?", [name])
            con.execute(
                f"insert into {_OUTPUTS} values (?, ?, ?, ?)", [name, context.run_id, kind, blob]
            )

    def load_input(self, context: dg.InputContext) -> Any:
        name = _name(context.asset_key)
        try:
            run_id = context.step_context.run_id
        except dg.DagsterInvariantViolationError:  # loaded outside a run
            run_id = None
        if (run_id, name) in _in_run:
            return _in_run[(run_id, name)]
        with connect(self.skillpath.settings().warehouse, read_only=True) as con:
            rows = con.execute(
                f"select kind, value from {_OUTPUTS} where asset = ?", [name]
            ).fetchall()
            if not rows:
                raise dg.Failure(f"{name} has not been materialized yet: materialize it first")
            [(kind, blob)] = rows
            stored = pickle.loads(blob)
            if kind == "value":
                return _join(stored, con)
            marts = load_marts(con)
            if kind == "marts" and _mart_counts(con) != stored:
                context.log.warning(
                    f"the marts changed since {name} was materialized (a later dbt build): "
                    "its consumers now read the current marts"
                )
        if kind == "marts":
            return marts
        return stored.bind(marts, build_interactions(marts))
