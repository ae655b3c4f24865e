"""What every command runs inside: settings, the terminal, the command's log, the
warehouse lock, and the help text's exit codes (``skillpath.exit_codes``); the mapping of
exceptions to exit codes is in ``skillpath.cli.app.main``."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from skillpath.console import LogSink, Terminal, logging_to, new_log_path
from skillpath.exit_codes import MEANING, ExitCode
from skillpath.lock import LockBusy
from skillpath.settings import Settings, make_private


def exit_codes_help(*codes: ExitCode | tuple[ExitCode, str]) -> str:
    """The epilog of a command's --help: each code with what it means for the command."""
    pairs = [c if isinstance(c, tuple) else (c, MEANING[c]) for c in codes]
    lines = "\n".join(f"  {int(code):>3}  {text}" for code, text in pairs)
    return f"\b\nExit codes:\n{lines}"


class Commands(click.Group):
    """Commands listed in the order a newcomer uses them, not alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
verbose_option = click.option(
    "-v", "--verbose", is_flag=True, help="Also show the log as it is written (dbt, Dagster)."
)


class CommandError(Exception):
    """A command cannot go on; the message is the one line the user sees."""


@contextmanager
def session(
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
def warehouse_lock(settings: Settings, command: str, wait: float | None = None) -> Iterator[None]:
    """Hold the warehouse's run-level lock (``skillpath.lock``) for a command that writes;
    a command killed while holding it is cleaned up after first
    (``orchestration.recovery``). ``LockBusy`` ends in ``main`` as exit code 75."""
    from orchestration.recovery import locked

    with locked(settings, f"skillpath {command}", wait):
        yield


def require_landing(settings: Settings) -> None:
    if not settings.landing_dir.is_dir():
        raise CommandError(
            f"landing directory {settings.landing_dir} does not exist: put the HR, LMS and "
            "survey exports there (SKILLPATH_LANDING_DIR sets where it is) or generate the "
            "sample organisation with: skillpath sample"
        )


def resolved_directory(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> Path | None:
    return Path(value).resolve() if value else None
