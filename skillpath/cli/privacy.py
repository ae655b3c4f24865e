"""The privacy commands (docs/privacy.md): ``erase`` (GDPR Art. 17), ``subject-access``
(Art. 15) and ``retention``; the group adds them after ``export``."""

from __future__ import annotations

from pathlib import Path

import click

from skillpath.cli.session import exit_codes_help, session, verbose_option, warehouse_lock
from skillpath.exit_codes import ExitCode


@click.command(
    short_help="Execute erasure requests (GDPR Art. 17): one id or a file of ids.",
    epilog=exit_codes_help(
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
    with session("erase", verbose) as (settings, _, _sink):
        wait = settings.config.privacy.erase_lock_wait_seconds
        with warehouse_lock(settings, "erase", wait):
            if from_file is not None:
                return erase_persons(settings, read_id_file(from_file), suppress_only, from_file)
            return erase_persons(settings, [employee_id], suppress_only)


@click.command(
    "subject-access",
    short_help="Answer an access request (GDPR Art. 15) as a JSON file.",
    epilog=exit_codes_help((ExitCode.OK, "written"), (ExitCode.FAILED, "an empty id or it failed")),
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
        session("subject-access", False, logged=False) as (settings, _, _sink),
        warehouse_lock(settings, "subject-access"),
    ):
        return write_access(settings, employee_id, out)


@click.command(
    short_help="Delete what is past its retention period now (the daily job).",
    epilog=exit_codes_help((ExitCode.OK, "done"), (ExitCode.FAILED, "it failed"), ExitCode.BUSY),
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
        session("retention", verbose) as (settings, terminal, sink),
        warehouse_lock(settings, "retention"),
    ):
        return run_retention(settings, terminal, sink)


PRIVACY_COMMANDS = (erase, subject_access, retention)
