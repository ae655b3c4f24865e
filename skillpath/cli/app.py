"""``skillpath``: the one entry point people and ``make`` use (README.md, Commands).

Click builds the commands and their help, rich the progress output. Sub-commands import
their implementation lazily so that ``skillpath --help`` stays fast and a broken optional
stage cannot stop the others. Exit codes (``skillpath.exit_codes``) are mapped here and
nowhere else: ``LockBusy`` from any command becomes 75, a wrong option 64.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from skillpath.cli.privacy import PRIVACY_COMMANDS
from skillpath.cli.sample import sample
from skillpath.cli.session import (
    CONTEXT,
    CommandError,
    Commands,
    exit_codes_help,
    require_landing,
    session,
    verbose_option,
    warehouse_lock,
)
from skillpath.console import captured
from skillpath.exit_codes import ExitCode
from skillpath.lock import LockBusy
from skillpath.settings import Settings


@click.group(cls=Commands, context_settings=CONTEXT, epilog=exit_codes_help(*ExitCode))
@click.option("-v", "--verbose", is_flag=True, help="As --verbose of a command.")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Micro-personalised learning recommendations: ingest HR, LMS and survey exports,
    build the marts, train and evaluate the recommender, gate and publish.

    Quiet by default: progress, warnings you can act on and the result. The detail (dbt,
    Dagster, libraries) goes to a log file under the data directory, whose path each
    command prints; --verbose also shows it.

    \b
    Typical use:
      skillpath sample                  # the sample organisation's exports
      skillpath run                     # the whole pipeline, then a summary
      skillpath status                  # the current publication and its gates
      skillpath export --out recs.csv   # what HR and the LMS receive

    Locations come from environment variables: SKILLPATH_DATA_DIR (default data/) and
    the others in the README's Configuration table.
    """
    ctx.obj = {"verbose": verbose}


cli.add_command(sample)  # first: the command a newcomer starts with


@cli.command(
    short_help="Ingest new or changed landing files (ingestion alone).",
    epilog=exit_codes_help(
        (ExitCode.OK, "ingested (or nothing new)"),
        (ExitCode.FAILED, "a file or a blocking check failed, or the landing directory is missing"),
        ExitCode.BUSY,
    ),
)
@click.option(
    "--accept",
    multiple=True,
    metavar="FILE",
    help="Apply a snapshot held as suspect_truncated (its path in the landing directory); "
    "repeatable. See docs/operations.md.",
)
@verbose_option
def ingest(accept: tuple[str, ...], verbose: bool) -> int:
    """Ingest the new or changed files of the landing directory (ingestion alone).

    Every row is loaded, quarantined with a reason, or counted as a duplicate; a file
    already ingested unchanged is skipped. Ends with the ingestion summary.

    \b
    Examples:
      skillpath ingest
      SKILLPATH_LANDING_DIR=/srv/exports skillpath ingest --verbose
      skillpath ingest --accept hr/employees.csv
    """
    from orchestration.runner import run_pipeline
    from skillpath.ingest.runner import accept_held

    with (
        session("ingest", verbose) as (settings, terminal, sink),
        warehouse_lock(settings, "ingest"),
    ):
        require_landing(settings)
        if accept:
            try:
                accepted = accept_held(settings, list(accept))
            except ValueError as exc:
                raise CommandError(f"--accept: {exc}") from exc
            terminal.print(f"accepted (applied now): {', '.join(accepted)}")
        return run_pipeline(settings, "ingest", terminal, sink)


@cli.command(
    "run",
    short_help="The whole pipeline: ingest, dbt, train and evaluate, gates, publication.",
    epilog=exit_codes_help(
        (ExitCode.OK, "the publication went live"),
        (ExitCode.BLOCKED, "a gate blocked the publication; the previous one stays current"),
        (ExitCode.FAILED, "a step failed (the previous publication stays current)"),
        ExitCode.BUSY,
    ),
)
@verbose_option
def run_command(verbose: bool) -> int:
    """Run the whole pipeline in process (Dagster): ingest, dbt build, train and evaluate,
    gates, publication; then a summary.

    The terminal shows one line per stage ("[3/9] dbt build … 85 s"), the checks that
    failed and the summary; dbt's and Dagster's detail are in the log file. The run is
    recorded in the Dagster instance, so it shows in the UI (make ui).

    \b
    Examples:
      skillpath run
      skillpath run --verbose
      SKILLPATH_TRAIN_THREADS=1 skillpath run   # the same model every time
    """
    from orchestration.runner import run_pipeline

    with session("run", verbose) as (settings, terminal, sink), warehouse_lock(settings, "run"):
        require_landing(settings)
        return run_pipeline(settings, "pipeline", terminal, sink)


@cli.command(
    short_help="The current publication and its gates.", epilog=exit_codes_help(ExitCode.OK)
)
def status() -> int:
    """Show the current publication, its gates, and a newer blocked or failed one.

    \b
    Examples:
      skillpath status
    """
    from skillpath.publish.commands import render_status

    with session("status", False, logged=False) as (settings, terminal, _):
        terminal.print(render_status(settings))
    return ExitCode.OK


def _export_path(_ctx: click.Context, _param: click.Parameter, value: str) -> Path:
    from skillpath.publish.commands import export_format

    out = Path(value)
    try:
        export_format(out)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return out


@cli.command(
    short_help="Write the current recommendations (.csv or .parquet).",
    epilog=exit_codes_help(
        (ExitCode.OK, "written"),
        (ExitCode.FAILED, "nothing published yet, or nothing to export"),
        (ExitCode.USAGE, "an extension other than .csv or .parquet"),
    ),
)
@click.option(
    "--out",
    required=True,
    callback=_export_path,
    help="The file to write; its extension picks the format: .csv or .parquet.",
)
def export(out: Path) -> int:
    """Write the current recommendations for HR and the LMS.

    Columns: employee_id, rank, content_id, title, score, reasons (JSON), publication_id,
    personalised, reason_text. Persons who opted out get their role path (personalised
    false).

    \b
    Examples:
      skillpath export --out recs.csv
      skillpath export --out /srv/lms/recs.parquet
    """
    from skillpath.publish.commands import export as write_export

    with session("export", False, logged=False) as (settings, _, _sink):
        return write_export(settings, out)


for _command in PRIVACY_COMMANDS:  # listed after export, in the order people use them
    cli.add_command(_command)


@cli.command(
    short_help="Hyper-parameter search as nested MLflow runs; --apply keeps the best.",
    epilog=exit_codes_help(
        (ExitCode.OK, "at least one trial trained (and, with --apply, the file is written)"),
        (ExitCode.FAILED, "no trial could train"),
        ExitCode.BUSY,
    ),
)
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Configurations to try; the first is the current one.",
)
@click.option(
    "--apply",
    "apply_best",
    is_flag=True,
    help="Write the best trial's hyper-parameters to <data dir>/tuned.toml, a "
    "SKILLPATH_CONFIG file for the next run (your current SKILLPATH_CONFIG's settings "
    "are copied into it).",
)
@verbose_option
def tune(trials: int, apply_best: bool, verbose: bool) -> int:
    """Random search over the recommender's hyper-parameters, on the marts of the last
    run, starting from the configured [training] values.

    Each trial is a nested MLflow run under one parent run ("tune <date> · <persons> ·
    <n> trials"), judged on the same per-person hold-out as every training run
    (published NDCG@10). Nothing is registered or published. --apply turns the best
    trial into the configuration of the next run: point SKILLPATH_CONFIG at the file it
    writes; that run records the tuning run it came from (tag skillpath.tuned_by), and
    the tuning run the file and the run (skillpath.applied_to, skillpath.used_by).

    \b
    Examples:
      skillpath tune --trials 8
      skillpath tune --trials 8 --apply
      export SKILLPATH_CONFIG=data/tuned.toml && skillpath run
      make mlflow   # then compare the trials under the parent run "tune …"
    """
    with session("tune", verbose) as (settings, terminal, sink), warehouse_lock(settings, "tune"):
        terminal.start_stage(f"{trials} trials")
        with captured(sink):
            from orchestration.tuning import apply_tuning, summary, tune_on_warehouse

            tuning = tune_on_warehouse(settings, trials)
        terminal.end_stage("failed" if tuning.best is None else "")
        if tuning.best is None:
            raise CommandError("no trial could train (too little data); see the MLflow runs")
        terminal.print(summary(tuning))
        if apply_best:
            path = apply_tuning(settings, os.environ, tuning)
            terminal.print(f"applied: {path}\nnext run: export SKILLPATH_CONFIG={path}")
    return ExitCode.OK


@cli.command(
    short_help="Parse the dbt project for Dagster (make install runs it).",
    epilog=exit_codes_help((ExitCode.OK, "parsed"), (ExitCode.FAILED, "dbt could not parse it")),
)
def prepare() -> int:
    """Parse the dbt project into the manifest Dagster reads (make install runs it).

    \b
    Examples:
      skillpath prepare
    """
    from orchestration.dbt_project import prepare_manifest

    with session("prepare", False, logged=False) as (_, terminal, _sink):
        terminal.print(f"dbt manifest: {prepare_manifest()}")
    return ExitCode.OK


def _runs_url(settings: Settings, port: int) -> str:
    """The experiment's runs in the UI's model-training view (MLflow 3 opens in its GenAI
    view otherwise); the experiment list until a run created the experiment."""
    from mlflow import MlflowClient

    from ml.registry import EXPERIMENT

    experiment = MlflowClient(settings.mlflow_tracking_uri).get_experiment_by_name(EXPERIMENT)
    page = f"experiments/{experiment.experiment_id}/runs" if experiment else "experiments"
    return f"http://localhost:{port}/#/{page}?workflowType=machine_learning"


@cli.command(
    "mlflow-ui",
    short_help="Start the MLflow UI on the tracking store.",
    epilog=exit_codes_help((ExitCode.OK, "the UI was stopped")),
)
@click.option("--port", type=int, default=5000, show_default=True, help="http://localhost:PORT")
def mlflow_ui(port: int) -> int:
    """Start the MLflow UI on the tracking store and artifacts of the data directory,
    printing the link to the experiment's runs in the UI's model-training view.

    \b
    Examples:
      skillpath mlflow-ui
      skillpath mlflow-ui --port 5001
    """
    settings = Settings.from_env()
    settings.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
    click.echo(f"runs of model training: {_runs_url(settings, port)}")
    os.execvp(
        "mlflow",
        [
            "mlflow",
            "ui",
            "--backend-store-uri",
            settings.mlflow_tracking_uri,
            "--default-artifact-root",
            str(settings.mlflow_artifact_root),
            "--port",
            str(port),
        ],
    )
    return ExitCode.OK  # pragma: no cover - exec does not return


def _venv_bin_on_path() -> None:
    """dagster-dbt runs ``dbt`` from PATH; make the one installed beside us win."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _error(text: str) -> None:
    print(f"skillpath: error: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code; every exception a user can meet ends
    here as one line."""
    _venv_bin_on_path()
    try:
        code = cli.main(args=argv, prog_name="skillpath", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else exc.format_message())
        return ExitCode.USAGE
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "skillpath"
        _error(f"{exc.format_message()} (see: {where} --help)")
        return ExitCode.USAGE
    except click.ClickException as exc:
        _error(exc.format_message())
        return ExitCode.FAILED
    except click.Abort:
        _error("interrupted")
        return 130
    except LockBusy as exc:
        _error(f"busy: {exc}")
        return ExitCode.BUSY
    except CommandError as exc:
        _error(str(exc))
        return ExitCode.FAILED
    return int(code or 0)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
