"""``skillpath``: the one entry point people and ``make`` use (README.md, Commands).

Click builds the commands and their help, rich the progress output. Sub-commands import
their implementation lazily so that ``skillpath --help`` stays fast and a broken optional
stage cannot stop the others. Exit codes (``skillpath.exit_codes``) are mapped here and
nowhere else: ``LockBusy`` from any command becomes 75, a wrong option 64.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from skillpath.console import LogSink, Terminal, captured, logging_to, new_log_path
from skillpath.exit_codes import MEANING, ExitCode
from skillpath.lock import LockBusy
from skillpath.settings import Settings, make_private


def _exit_codes(*codes: ExitCode | tuple[ExitCode, str]) -> str:
    """The epilog of a command's --help: each code with what it means for the command."""
    pairs = [c if isinstance(c, tuple) else (c, MEANING[c]) for c in codes]
    lines = "\n".join(f"  {int(code):>3}  {text}" for code, text in pairs)
    return f"\b\nExit codes:\n{lines}"


class _Commands(click.Group):
    """Commands listed in the order a newcomer uses them, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
verbose_option = click.option(
    "-v", "--verbose", is_flag=True, help="Also show the log as it is written (dbt, Dagster)."
)


class CommandError(Exception):
    """A command cannot go on; the message is the one line the user sees."""


@click.group(cls=_Commands, context_settings=CONTEXT, epilog=_exit_codes(*ExitCode))
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


@contextmanager
def _session(
    command: str, verbose: bool, logged: bool = True
) -> Iterator[tuple[Settings, Terminal, LogSink]]:
    """Settings, the terminal and the command's log (printed first): what every command
    runs inside. An unexpected error leaves its traceback in the log and one line here."""
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root().obj if ctx else None
    verbose = verbose or bool(root and root.get("verbose"))
    settings = Settings.from_env()
    make_private(settings)  # every file written from here on is the owner's only
    terminal = Terminal(sys.stdout, verbose)
    path = new_log_path(settings.logs_dir, command) if logged else None
    sink = LogSink(path, echo=sys.stderr if verbose else None)
    if path:
        terminal.print(f"log: {path}", style="dim")
    try:
        with logging_to(sink, terminal, verbose):
            yield settings, terminal, sink
    except (LockBusy, CommandError, click.ClickException):
        raise
    except Exception as exc:
        sink.write(traceback.format_exc())
        where = f" (traceback in {path})" if path else ""
        raise CommandError(f"{type(exc).__name__}: {exc}{where}") from exc
    finally:
        sink.close()


@contextmanager
def _locked(settings: Settings, command: str, wait: float | None = None) -> Iterator[None]:
    """Hold the warehouse's run-level lock (``skillpath.lock``) for a command that writes;
    a command killed while holding it is cleaned up after first
    (``orchestration.recovery``). ``LockBusy`` ends in ``main`` as exit code 75."""
    from orchestration.recovery import locked

    with locked(settings, f"skillpath {command}", wait):
        yield


def _require_landing(settings: Settings) -> None:
    if not settings.landing_dir.is_dir():
        raise CommandError(
            f"landing directory {settings.landing_dir} does not exist: put the HR, LMS and "
            "survey exports there (SKILLPATH_LANDING_DIR sets where it is) or generate the "
            "sample organisation with: skillpath sample"
        )


def _directory(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Path | None:
    return Path(value).resolve() if value else None


@cli.command(
    short_help="Write the sample organisation's exports into the landing directory.",
    epilog=_exit_codes(
        (ExitCode.OK, "the exports are written"), (ExitCode.USAGE, "an option is out of range")
    ),
)
@click.option("--employees", type=int, default=1000, show_default=True, help="Persons.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--months", type=int, default=12, show_default=True, help="Months of history.")
@click.option(
    "--landing-dir",
    callback=_directory,
    help="Where to write the exports.  [default: $SKILLPATH_LANDING_DIR]",
)
@click.option(
    "--truth-dir",
    callback=_directory,
    help="Where to write the ground truth.  [default: $SKILLPATH_TRUTH_DIR]",
)
@click.option(
    "--inject-bias",
    is_flag=False,
    flag_value="gender",
    default=None,
    metavar="ATTR[,ATTR]",
    help="A history in which a group was steered away from advanced and leadership content: "
    "gender (women), age (40 and over), disability (yes); alone: gender.",
)
@click.option(
    "--bias-strength",
    type=click.FloatRange(0, 1),
    default=None,
    help="Probability that a steered pick is replaced.  [default: 0.7]",
)
@click.option(
    "--inject-defects",
    is_flag=True,
    help="Add a realistic share of bad rows (ingestion quarantines them).",
)
# the names are written out: importing the generator here would slow every command
@click.option(
    "--regime",
    default="default",
    show_default=True,
    help="Robustness regime (README, 'Robustness regimes'): default, no-taxonomy, heavy-tail, "
    "binge, small-catalog, large-catalog or dormant.",
)
@verbose_option
def sample(
    employees: int,
    seed: int,
    months: int,
    landing_dir: Path | None,
    truth_dir: Path | None,
    inject_bias: str | None,
    bias_strength: float | None,
    inject_defects: bool,
    regime: str,
    verbose: bool,
) -> int:
    """Write the sample organisation's HR, LMS and survey exports into the landing
    directory.

    Its ground truth (what the generator knows about every person) goes to a separate
    directory and is never ingested; the benchmarks use it. The same seed writes the
    same files.

    \b
    Examples:
      skillpath sample
      skillpath sample --employees 10000 --seed 7
      skillpath sample --inject-defects --landing-dir /tmp/landing
      skillpath sample --regime heavy-tail
      skillpath sample --inject-bias gender,age --bias-strength 0.5
    """
    from skillpath.sample import SampleConfig, generate

    try:
        config = SampleConfig(
            employees=employees,
            seed=seed,
            months=months,
            inject_bias=tuple(a.strip() for a in (inject_bias or "").split(",") if a.strip()),
            **({} if bias_strength is None else {"bias_strength": bias_strength}),
            inject_defects=inject_defects,
            regime=regime,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with _session("sample", verbose) as (settings, terminal, sink):
        summary = generate(
            config,
            landing_dir=landing_dir or settings.landing_dir,
            truth_dir=truth_dir or settings.truth_dir,
        )
        sink.line(summary.render())  # every file with its rows; the terminal gets the gist
        rows = sum(f.rows for f in summary.files)
        terminal.print(summary.render().splitlines()[0])
        terminal.print(f"  {len(summary.files)} files, {rows:,} rows in {summary.landing_dir}")
        if summary.defects:
            defects = sum(d["count"] for d in summary.defects)
            terminal.print(f"  {defects:,} defects injected, listed in {summary.truth_dir}")
        terminal.print(f"  ground truth (never ingested) in {summary.truth_dir}")
    return ExitCode.OK


@cli.command(
    short_help="Ingest new or changed landing files (ingestion alone).",
    epilog=_exit_codes(
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

    with _session("ingest", verbose) as (settings, terminal, sink), _locked(settings, "ingest"):
        _require_landing(settings)
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
    epilog=_exit_codes(
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

    with _session("run", verbose) as (settings, terminal, sink), _locked(settings, "run"):
        _require_landing(settings)
        return run_pipeline(settings, "pipeline", terminal, sink)


@cli.command(short_help="The current publication and its gates.", epilog=_exit_codes(ExitCode.OK))
def status() -> int:
    """Show the current publication, its gates, and a newer blocked or failed one.

    \b
    Examples:
      skillpath status
    """
    from skillpath.publish.commands import render_status

    with _session("status", False, logged=False) as (settings, terminal, _):
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
    epilog=_exit_codes(
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

    with _session("export", False, logged=False) as (settings, _, _sink):
        return write_export(settings, out)


@cli.command(
    short_help="Execute erasure requests (GDPR Art. 17): one id or a file of ids.",
    epilog=_exit_codes(
        (ExitCode.OK, "every id erased now, erased before, or suppressed"),
        (ExitCode.FAILED, "some id has no data held (nothing recorded for it), or it failed"),
        ExitCode.BUSY,
    ),
)
@click.option("--employee-id", help="The HR employee id of the person to erase.")
@click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of ids: one per line, or a CSV with a column employee_id.",
)
@click.option(
    "--suppress-only",
    is_flag=True,
    help="Put an id of which no data is held on the suppression list (blocks its future "
    "deliveries) instead of refusing it.",
)
@verbose_option
def erase(
    employee_id: str | None, from_file: Path | None, suppress_only: bool, verbose: bool
) -> int:
    """Execute erasure requests: delete each person from every table of every schema and
    from the files the project wrote, and keep a keyed token that stops ingestion from
    loading them again (docs/privacy.md, Erasure).

    audit.erasures records time and counts per table, nothing identifying. An id of which
    no data is held exits 1 and records nothing (unless --suppress-only); an id erased
    before exits 0. Waits up to privacy.erase_lock_wait_seconds for a running pipeline.

    \b
    Examples:
      skillpath erase --employee-id E100042
      skillpath erase --from-file requests.csv
      skillpath erase --employee-id E200001 --suppress-only
    """
    from skillpath.gdpr.erasure import erase as erase_persons
    from skillpath.gdpr.erasure import read_id_file

    if (employee_id is None) == (from_file is None):
        raise click.UsageError("give either --employee-id or --from-file")
    with _session("erase", verbose) as (settings, _, _sink):
        wait = settings.config.privacy.erase_lock_wait_seconds
        with _locked(settings, "erase", wait):
            if from_file is not None:
                return erase_persons(settings, read_id_file(from_file), suppress_only, from_file)
            return erase_persons(settings, [employee_id], suppress_only)


@cli.command(
    "subject-access",
    short_help="Answer an access request (GDPR Art. 15) as a JSON file.",
    epilog=_exit_codes((ExitCode.OK, "written"), (ExitCode.FAILED, "an empty id or it failed")),
)
@click.option("--employee-id", required=True, help="The HR employee id of the person.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The JSON file to write (owner-only).",
)
def subject_access(employee_id: str, out: Path) -> int:
    """Write everything held about one person: every table that holds them with its
    source, consent state and history, recommendations with reasons, quarantined rows and
    the retention periods (docs/privacy.md, Access).

    \b
    Examples:
      skillpath subject-access --employee-id E100042 --out e100042.json
    """
    from skillpath.gdpr.access import subject_access as write_access

    with (
        _session("subject-access", False, logged=False) as (settings, _, _sink),
        _locked(settings, "subject-access"),
    ):
        return write_access(settings, employee_id, out)


@cli.command(
    short_help="Delete what is past its retention period now (the daily job).",
    epilog=_exit_codes((ExitCode.OK, "done"), (ExitCode.FAILED, "it failed"), ExitCode.BUSY),
)
@verbose_option
def retention(verbose: bool) -> int:
    """Delete events, quarantine payloads and old publications past their retention
    periods ([retention] in the configuration), as the daily Dagster job 'retention' does;
    recorded in audit.retention_runs.

    \b
    Examples:
      skillpath retention
    """
    from orchestration.runner import run_retention

    with (
        _session("retention", verbose) as (settings, terminal, sink),
        _locked(settings, "retention"),
    ):
        return run_retention(settings, terminal, sink)


@cli.command(
    short_help="Hyper-parameter search as nested MLflow runs; --apply keeps the best.",
    epilog=_exit_codes(
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
    with _session("tune", verbose) as (settings, terminal, sink), _locked(settings, "tune"):
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
    epilog=_exit_codes((ExitCode.OK, "parsed"), (ExitCode.FAILED, "dbt could not parse it")),
)
def prepare() -> int:
    """Parse the dbt project into the manifest Dagster reads (make install runs it).

    \b
    Examples:
      skillpath prepare
    """
    from orchestration.dbt_project import prepare_manifest

    with _session("prepare", False, logged=False) as (_, terminal, _sink):
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
    epilog=_exit_codes((ExitCode.OK, "the UI was stopped")),
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
