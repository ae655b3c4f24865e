"""The one entry point people and ``make`` use (README.md, Commands).

Sub-commands import their implementation lazily so that ``skillpath --help`` stays fast
and a broken optional stage cannot stop the others from running.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from skillpath.settings import Settings, make_private

log = logging.getLogger("skillpath")
OWN_LOGGERS = ("skillpath", "ml", "orchestration")


def _cmd_sample(args: argparse.Namespace, settings: Settings) -> int:
    from skillpath.sample import SampleConfig, generate

    landing = Path(args.landing_dir).resolve() if args.landing_dir else settings.landing_dir
    truth = Path(args.truth_dir).resolve() if args.truth_dir else settings.truth_dir
    config = SampleConfig(
        employees=args.employees,
        seed=args.seed,
        months=args.months,
        inject_bias=args.inject_bias,
        inject_defects=args.inject_defects,
        regime=args.regime,
    )
    summary = generate(config, landing_dir=landing, truth_dir=truth)
    print(summary.render())
    return 0


def _cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.runner import run_pipeline

    return run_pipeline(settings, job_name="ingest")


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.runner import run_pipeline

    return run_pipeline(settings)


def _cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from skillpath.publish.commands import status

    return status(settings)


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from skillpath.publish.commands import export

    return export(settings, Path(args.out))


def _cmd_erase(args: argparse.Namespace, settings: Settings) -> int:
    from skillpath.gdpr.erasure import erase, read_id_file

    if args.from_file:
        source = Path(args.from_file)
        return erase(settings, read_id_file(source), args.suppress_only, source)
    return erase(settings, [args.employee_id], args.suppress_only)


def _cmd_subject_access(args: argparse.Namespace, settings: Settings) -> int:
    from skillpath.gdpr.access import subject_access

    return subject_access(settings, args.employee_id, Path(args.out))


def _cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.runner import run_retention

    return run_retention(settings)


def _cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.tuning import run_tuning

    return run_tuning(settings, trials=args.trials)


def _cmd_prepare(args: argparse.Namespace, settings: Settings) -> int:
    from orchestration.dbt_project import prepare_manifest

    prepare_manifest()
    return 0


def _cmd_mlflow_ui(args: argparse.Namespace, settings: Settings) -> int:
    import os

    settings.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
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
            str(args.port),
        ],
    )
    return 0  # pragma: no cover - exec does not return


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skillpath",
        description="Micro-personalised learning recommendations: ingest, marts, model, publish.",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug logging of skillpath (libraries still only warn)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sample = sub.add_parser("sample", help="write the sample organisation's exports")
    sample.add_argument("--employees", type=int, default=1000, help="persons (default 1000)")
    sample.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    sample.add_argument("--months", type=int, default=12, help="months of history (default 12)")
    sample.add_argument("--landing-dir", help="default: $SKILLPATH_LANDING_DIR or data/landing")
    sample.add_argument("--truth-dir", help="default: $SKILLPATH_TRUTH_DIR or data/truth")
    sample.add_argument(
        "--inject-bias",
        action="store_true",
        help="history in which one gender group was steered away from advanced content",
    )
    sample.add_argument(
        "--inject-defects", action="store_true", help="add a realistic share of bad rows"
    )
    # the names are written out: importing the generator here would slow every command
    sample.add_argument(
        "--regime",
        default="default",
        help="robustness regime (README, 'Robustness regimes'): default, no-taxonomy, "
        "heavy-tail, binge, small-catalog, large-catalog or dormant",
    )
    sample.set_defaults(func=_cmd_sample)

    sub.add_parser("ingest", help="ingest new landing files only").set_defaults(func=_cmd_ingest)
    sub.add_parser("run", help="run the whole pipeline in process").set_defaults(func=_cmd_run)
    sub.add_parser("status", help="show the current publication and its gates").set_defaults(
        func=_cmd_status
    )
    export = sub.add_parser("export", help="write current recommendations (CSV or Parquet)")
    export.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    export.set_defaults(func=_cmd_export)
    erase = sub.add_parser("erase", help="execute an erasure request (docs/privacy.md)")
    who = erase.add_mutually_exclusive_group(required=True)
    who.add_argument("--employee-id", help="the HR employee id of the person")
    who.add_argument("--from-file", help="a file of ids: one per line, or a CSV column employee_id")
    erase.add_argument(
        "--suppress-only",
        action="store_true",
        help="an id of which no data is held is put on the suppression list (blocks its "
        "future deliveries) instead of being refused",
    )
    erase.set_defaults(func=_cmd_erase)
    access = sub.add_parser("subject-access", help="answer an access request (GDPR Art. 15)")
    access.add_argument("--employee-id", required=True)
    access.add_argument("--out", required=True, help="the JSON file to write (owner-only)")
    access.set_defaults(func=_cmd_subject_access)
    sub.add_parser(
        "retention", help="delete what is past its retention period now (the daily job)"
    ).set_defaults(func=_cmd_retention)
    tune = sub.add_parser("tune", help="small hyper-parameter search as nested MLflow runs")
    tune.add_argument("--trials", type=int, default=8)
    tune.set_defaults(func=_cmd_tune)
    sub.add_parser(
        "prepare", help="parse the dbt project (manifest for Dagster); run by make install"
    ).set_defaults(func=_cmd_prepare)
    mlflow_ui = sub.add_parser("mlflow-ui", help="start the MLflow UI on the tracking store")
    mlflow_ui.add_argument("--port", type=int, default=5000)
    mlflow_ui.set_defaults(func=_cmd_mlflow_ui)
    return parser


def _venv_bin_on_path() -> None:
    """dagster-dbt runs ``dbt`` from PATH; make the one installed beside us win."""
    import os

    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def configure_logging(verbose: bool) -> None:
    """Our own progress at INFO (DEBUG with -v); libraries (Great Expectations, MLflow,
    Dagster's internals) only warn, also with -v: their debug output would bury ours."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    _venv_bin_on_path()
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose)
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    settings = Settings.from_env()
    make_private(settings)
    return func(args, settings)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
