"""Files the project wrote that may hold an erased person, and how each is cleaned.

- Exports (``skillpath export``) under the data directory: CSV or Parquet files with the
  export's columns. Rows of persons on the suppression list are removed, recognised
  by recomputing each row's token from its employee id: no list of erased ids is kept
  anywhere, so an interrupted clean-up can simply run again. Exports delivered outside
  the data directory are the recipients' to erase (docs/privacy.md, Erasure).
- Dagster's stored outputs of assets that handed person-level data over as pickles
  before they went through the warehouse (``LEGACY_PERSON_OUTPUTS``): deleted.
- MLflow's SQLite store: vacuumed. Its artifacts hold no person-level rows (the model is
  stored unbound, evaluation tables are aggregates; a test scans them).

Reports are group-level by construction, logs never carry person data (both tested).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from skillpath.gdpr.compaction import vacuum_sqlite
from skillpath.privacy import person_key, person_token
from skillpath.publish.commands import EXPORT_COLUMNS
from skillpath.settings import Settings

# assets whose outputs Dagster's default I/O manager pickled under DAGSTER_HOME/storage
# (before orchestration.io_manager kept person-level data out of it)
LEGACY_PERSON_OUTPUTS = ("training_dataset", "recommender_model", "candidate_recommendations")
_EXPORT_SUFFIXES = (".csv", ".parquet")


def _skipped_dirs(settings: Settings) -> set[Path]:
    """Where no export lives: deliveries and the generator's truth (inputs, not ours)."""
    return {settings.landing_dir, settings.truth_dir, settings.dagster_home}


def export_files(settings: Settings) -> Iterator[Path]:
    """CSV and Parquet files under the data directory whose columns are the export's."""
    skipped = _skipped_dirs(settings)
    for root, dirs, names in os.walk(settings.data_dir):
        dirs[:] = [d for d in dirs if Path(root, d) not in skipped]
        for name in names:
            path = Path(root, name)
            if path.suffix.lower() in _EXPORT_SUFFIXES and _columns(path) == list(EXPORT_COLUMNS):
                yield path


def _columns(path: Path) -> list[str] | None:
    try:
        if path.suffix.lower() == ".parquet":
            return list(pq.read_schema(path).names)
        with path.open(encoding="utf-8") as fh:
            return fh.readline().rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def scrub_export(path: Path, suppressed: set[str], key: bytes) -> int:
    """Remove the rows of suppressed persons from one export; returns how many. The file
    is replaced in one rename, so a reader sees the old or the new file, never half."""
    parquet = path.suffix.lower() == ".parquet"
    frame = (
        pd.read_parquet(path)
        if parquet
        else pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    )
    ids = frame["employee_id"].astype(str)
    tokens = {i: person_token(person_key(i, key), key) for i in ids.unique()}
    erased = ids.map(tokens).isin(suppressed)
    if not erased.any():
        return 0
    kept = frame[~erased]
    tmp = path.with_name(path.name + ".scrubbing")
    if parquet:
        kept.to_parquet(tmp, index=False)
    else:
        kept.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return int(erased.sum())


def remove_legacy_outputs(settings: Settings) -> int:
    """Delete person-level asset outputs an earlier version pickled; returns how many."""
    removed = 0
    storage = settings.dagster_home / "storage"
    for name in LEGACY_PERSON_OUTPUTS:
        path = storage / name
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def mlflow_store(settings: Settings) -> Path | None:
    uri = settings.mlflow_tracking_uri
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def clean_files(settings: Settings, suppressed: set[str], key: bytes) -> dict[str, int]:
    """Every file clean-up after an erasure; counts of files changed (zeros left out)."""
    changed = {"exports": 0, "export_rows": 0}
    for path in export_files(settings):
        rows = scrub_export(path, suppressed, key)
        changed["exports"] += rows > 0
        changed["export_rows"] += rows
    changed["dagster_outputs"] = remove_legacy_outputs(settings)
    store = mlflow_store(settings)
    changed["mlflow_store_vacuumed"] = int(store is not None and vacuum_sqlite(store))
    return {k: int(v) for k, v in changed.items() if v}
