"""``skillpath sample``: the sample organisation's exports (``skillpath.sample``), the
first command a newcomer runs."""

from pathlib import Path

import click

from skillpath.cli.session import (
    exit_codes_help,
    resolved_directory,
    session,
    verbose_option,
)
from skillpath.exit_codes import ExitCode


@click.command(
    short_help="Write the sample organisation's exports into the landing directory.",
    epilog=exit_codes_help(
        (ExitCode.OK, "the exports are written"), (ExitCode.USAGE, "an option is out of range")
    ),
)
@click.option("--employees", type=int, default=1000, show_default=True, help="Persons.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--months", type=int, default=12, show_default=True, help="Months of history.")
@click.option(
    "--landing-dir",
    callback=resolved_directory,
    help="Where to write the exports.  [default: $SKILLPATH_LANDING_DIR]",
)
@click.option(
    "--truth-dir",
    callback=resolved_directory,
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
    with session("sample", verbose) as (settings, terminal, sink):
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
