"""``skillpath status`` and ``skillpath export`` (README.md, Commands)."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from skillpath import run_state
from skillpath.publish.csv_safety import neutralise_formulas
from skillpath.publish.gates import STATUS_LABELS, GateResult, gate_results_from_json
from skillpath.publish.overlay import Overlay, serving_recommendations
from skillpath.publish.report import REPORT_NAME, report_path
from skillpath.publish.tables import BLOCKED, FAILED, PUBLISHED, table_exists
from skillpath.settings import Settings

EXPORT_COLUMNS = (
    "employee_id",
    "rank",
    "content_id",
    "title",
    "score",
    "reasons",
    "publication_id",
    "personalised",
    "reason_text",
)

# the score is on 0–1 (ml.ranking, "Score"); three decimals are all a reader of an
# export can use, more digits only suggest a precision the ranking does not have
SCORE_DECIMALS = 3
EXPORT_FORMATS = {".csv": "CSV", ".parquet": "Parquet"}


def export_format(out: Path) -> str:
    """The format of an export file, from its extension; anything else is refused rather
    than written as CSV under a name that promises another format."""
    suffix = out.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        known = " or ".join(EXPORT_FORMATS)
        raise ValueError(f"{out.name}: unknown export format {suffix or '(none)'!r}; use {known}")
    return EXPORT_FORMATS[suffix]


def _open(settings: Settings) -> duckdb.DuckDBPyConnection | None:
    """Read-only, so status works while nothing else writes; a clear message when the
    warehouse is missing or locked by a running pipeline."""
    if not settings.warehouse.exists():
        return None
    try:
        return duckdb.connect(str(settings.warehouse), read_only=True)
    except duckdb.IOException as exc:
        raise SystemExit(
            f"cannot open {settings.warehouse}: {exc}\n"
            "is a pipeline (skillpath run, the Dagster UI) writing it? retry when it is done"
        ) from exc


def _latest(con: duckdb.DuckDBPyConnection, status: str) -> dict | None:
    frame = con.execute(
        """select * from published.publications where status = ?
           order by created_at desc, publication_id desc limit 1""",
        [status],
    ).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def _format_figures(figures: dict) -> str:
    return ", ".join(f"{k}={json.dumps(v, default=str)}" for k, v in figures.items())


def _gate_lines(gates: list[GateResult], brief: bool = False) -> list[str]:
    """One line per gate with its verdict; ``skillpath status`` adds every figure, the
    run's summary (``brief``) leaves them to status and the compliance report — a cut
    line of figures told a reader nothing (it showed whichever figure came first)."""
    lines = []
    for gate in gates:
        label = STATUS_LABELS.get(gate.status, gate.status)
        lines.append(f"    [{label}] {gate.name}: {gate.message}")
        if gate.figures and not brief:
            lines.append(f"        {_format_figures(gate.figures)}")
    return lines


def _model_line(pub: dict) -> str:
    if pub.get("fallback_reason"):
        return f"  model: none — role path for everyone ({pub['fallback_reason']})"
    return f"  model: {pub['model_name']} version {pub['model_version']} ({pub.get('champion')})"


def render_status(settings: Settings, brief: bool = False) -> str:
    runs = run_state.lock_lines(settings)
    if runs and runs[0].startswith("busy"):  # DuckDB lets nobody read while it writes
        return "\n".join([f"warehouse: {settings.warehouse}", *runs])
    con = _open(settings)
    if con is None or not table_exists(con, "published", "publications"):
        runs += run_state.interruption_lines(con) if con is not None else []
        if con is not None:
            con.close()
        return "\n".join(
            [
                f"warehouse: {settings.warehouse}",
                *runs,
                "nothing has been published yet: run the pipeline (skillpath run)",
            ]
        )
    try:
        current = _latest(con, PUBLISHED)
        blocked = _latest(con, BLOCKED)
        failed = _latest(con, FAILED)
        runs += run_state.interruption_lines(con)
    finally:
        con.close()
    lines = [f"warehouse: {settings.warehouse}", *runs]
    if current is None:
        lines.append("nothing has been published yet: no publication passed its gates")
    else:
        lines += [
            f"current publication: {current['publication_id']}"
            f" (published {current['finished_at']:%Y-%m-%d %H:%M} UTC, run {current['run_id']})",
            _model_line(current),
            f"  persons: {current['persons']}, recommendations: {current['recommendations']}",
            "  gates (their figures: skillpath status, the report):" if brief else "  gates:",
            *_gate_lines(gate_results_from_json(current["gate_results"]), brief),
        ]
    newer = current["created_at"] if current else None
    for pub, label in (
        (blocked, "latest blocked publication"),
        (failed, "latest failed publication"),
    ):
        if pub is None or (
            label.endswith("failed publication") and newer and pub["created_at"] < newer
        ):
            continue
        lines += [f"{label}: {pub['publication_id']} ({pub['created_at']:%Y-%m-%d %H:%M} UTC)"]
        lines.append(f"  {pub['message']}")
        lines += _gate_lines(
            [g for g in gate_results_from_json(pub["gate_results"]) if not g.passed], brief
        )
        lines.append(f"  report: {report_path(settings.reports_dir, pub['publication_id'])}")
    if current is not None:
        lines.append(f"report: {report_path(settings.reports_dir, current['publication_id'])}")
    lines.append(f"all publications: {settings.reports_dir / REPORT_NAME}")
    return "\n".join(lines)


def status(settings: Settings) -> int:
    print(render_status(settings))
    return 0


def current_export(
    con: duckdb.DuckDBPyConnection, today: date | None = None
) -> tuple[pd.DataFrame, int, Overlay]:
    """Current recommendations with employee ids, as they may be served today
    (``publish.overlay``: opt-outs and departures since the publication apply); the
    second value counts the persons left out because the directory no longer knows them
    (erased since publication), the third what the overlay changed."""
    serving, overlay = serving_recommendations(con, today)
    # titles as the catalogue has them now; without marts the export still works
    with_titles = table_exists(con, "marts", "dim_content")
    title = "c.title" if with_titles else "null::varchar as title"
    join = "left join marts.dim_content c using (content_id)" if with_titles else ""
    con.register("_sp_serving", serving)
    try:
        frame = con.execute(
            f"""select d.employee_id, r.rank, r.content_id, {title}, r.score, r.reasons,
                       r.publication_id, r.personalised, r.reason_text
                from _sp_serving r
                join published.employee_directory d using (person_key)
                {join}
                order by d.employee_id, r.rank"""
        ).df()
        [(unmapped,)] = con.execute(
            """select count(distinct person_key) from _sp_serving
               where person_key not in (select person_key from published.employee_directory)"""
        ).fetchall()
    finally:
        con.unregister("_sp_serving")
    frame["score"] = frame["score"].round(SCORE_DECIMALS)
    return frame[list(EXPORT_COLUMNS)], unmapped, overlay


def export(settings: Settings, out: Path) -> int:
    file_format = export_format(out)
    con = _open(settings)
    if con is None or not table_exists(con, "published", "current_recommendations"):
        print("nothing to export: nothing has been published yet (skillpath run)", file=sys.stderr)
        return 1
    try:
        if not table_exists(con, "published", "employee_directory"):
            print(
                "published.employee_directory is missing: run ingestion (skillpath ingest)",
                file=sys.stderr,
            )
            return 1
        frame, unmapped, overlay = current_export(con)
    finally:
        con.close()
    if frame.empty:
        print("nothing to export: the current publication is empty", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    if file_format == "Parquet":
        frame.to_parquet(out, index=False)
    else:  # a spreadsheet must not run a title as a formula; Parquet keeps raw values
        neutralise_formulas(frame).to_csv(out, index=False)
    notes = [f"{unmapped} person(s) without an employee id left out"] if unmapped else []
    notes += [overlay.describe()] if overlay.describe() else []
    note = f" ({'; '.join(notes)})" if notes else ""
    print(
        f"wrote {len(frame)} recommendations for {frame['employee_id'].nunique()} persons "
        f"from {frame['publication_id'].iloc[0]} to {out}{note}"
    )
    return 0
