"""What a person at the terminal sees, and where everything else goes.

By default a command prints its progress, the warnings a user can act on and its result.
The detail — dbt's per-node lines, Dagster's event log, our own progress messages,
libraries' warnings (MLflow's pickle and signature notes, Great Expectations, deprecations)
— goes to a log file under the data directory, whose path the command prints; with
``--verbose`` the same detail is echoed to stderr as it is written. Colour codes never
reach the log file, nor a terminal that is not one (a pipe, ``make demo | tee``).
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

OWN_LOGGERS = ("skillpath", "ml", "orchestration")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_INSTALLED = "_skillpath_handler"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def new_log_path(logs_dir: Path, command: str) -> Path:
    """``<logs_dir>/<command>-<UTC time>.log``; a second command in the same second gets
    a numbered name instead of appending to the first one's log."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{command}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    path, n = logs_dir / f"{stem}.log", 1
    while path.exists():
        n += 1
        path = logs_dir / f"{stem}-{n}.log"
    return path


class LogSink:
    """The log file (colour codes removed), optionally echoed to a terminal stream.

    It is a file-like object, so it can stand in for ``sys.stdout``/``sys.stderr`` while
    libraries run, and a ``logging`` stream. Writes from the threads of a run (dbt's
    reader, MLflow) are serialised."""

    def __init__(self, path: Path | None, echo: TextIO | None = None) -> None:
        self.path = path
        self._file = path.open("a", encoding="utf-8") if path else None
        self._echo = echo
        self._echo_colour = bool(echo and echo.isatty())
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not text:
            return 0
        plain = strip_ansi(text)
        with self._lock:
            if self._file:
                self._file.write(plain)
                self._file.flush()
            if self._echo:
                self._echo.write(text if self._echo_colour else plain)
                self._echo.flush()
        return len(text)

    def line(self, text: str) -> None:
        self.write(text if text.endswith("\n") else text + "\n")

    def flush(self) -> None:
        pass  # every write is flushed

    def isatty(self) -> bool:
        return False

    def close(self) -> None:
        with self._lock:
            if self._file:
                self._file.close()
                self._file = None


@contextmanager
def captured(sink: LogSink) -> Iterator[None]:
    """Whatever libraries print to stdout or stderr goes to the log while this is open."""
    with redirect_stdout(sink), redirect_stderr(sink):  # type: ignore[type-var]
        yield


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


@dataclass
class Stage:
    """One line of progress: ``[3/8] dbt build … 28 s · 36 assets, 221 checks passed``."""

    label: str
    number: int | None = None
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    detail: str = ""

    def prefix(self) -> str:
        return f"[{self.number}/{self.total}] " if self.number and self.total else ""

    def text(self, status: str = "") -> str:
        elapsed = format_seconds(time.monotonic() - self.started)
        detail = f" · {self.detail}" if self.detail else ""
        return f"{self.prefix()}{self.label} … {status}{elapsed}{detail}"


class _LiveStage:
    """The running stage as a spinner with its time ticking (terminals only)."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.spinner = Spinner("dots", style="cyan")

    def __rich__(self) -> Spinner:
        self.spinner.text = Text(" " + self.stage.text())
        return self.spinner


class Terminal:
    """Progress, warnings and results for the person who ran the command. On a terminal
    the running stage shows as a spinner; elsewhere each stage is one line when it ends."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False) -> None:
        self.console = Console(
            file=stream or sys.stdout, highlight=False, markup=False, emoji=False, soft_wrap=True
        )
        self.verbose = verbose
        self._stage: Stage | None = None
        self._live: Live | None = None
        self._pending: list[tuple[str, str]] = []

    def print(self, text: str = "", style: str | None = None) -> None:
        self.console.print(text, style=style)

    def _note(self, text: str, style: str) -> None:
        """A message during a stage is shown under that stage's line, when it ends."""
        if self._stage:
            self._pending.append((text, style))
        else:
            self.print(text, style=style)

    def warn(self, text: str) -> None:
        self._note(f"  warning: {text}", "yellow")

    def error(self, text: str) -> None:
        self._note(f"  error: {text}", "red")

    def start_stage(self, label: str, number: int | None = None, total: int | None = None) -> None:
        self.end_stage()
        self._stage = Stage(label, number, total)
        if self.console.is_terminal and not self.verbose:  # verbose output would tear it
            self._live = Live(
                _LiveStage(self._stage),
                console=self.console,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
                refresh_per_second=4,
            )
            self._live.start()

    def number_stage(self, number: int, total: int) -> None:
        if self._stage:
            self._stage.number, self._stage.total = number, total

    def stage_detail(self, detail: str) -> None:
        if self._stage:
            self._stage.detail = detail

    def end_stage(self, outcome: str = "") -> None:
        """Print the stage's line: ``outcome`` is empty when it went through, else how it
        ended ("failed", "blocked by a check")."""
        stage, self._stage = self._stage, None
        if self._live:
            self._live.stop()
            self._live = None
        if stage:
            style = {"": None, "failed": "red"}.get(outcome, "yellow")
            self.print(stage.text(f"{outcome} after " if outcome else ""), style=style)
        pending, self._pending = self._pending, []
        for text, style in pending:
            self.print(text, style=style)


class _TerminalHandler(logging.Handler):
    """Our own warnings and errors on the terminal, as one line each; the rest of the
    records (and every library's) only in the log."""

    def __init__(self, terminal: Terminal) -> None:
        super().__init__(logging.WARNING)
        self.terminal = terminal

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name.split(".")[0] in OWN_LOGGERS and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().splitlines()[0] if record.getMessage() else ""
        if record.levelno >= logging.ERROR:
            self.terminal.error(message)
        else:
            self.terminal.warn(message)


@contextmanager
def logging_to(sink: LogSink, terminal: Terminal, verbose: bool) -> Iterator[None]:
    """Our own loggers at INFO (DEBUG with ``--verbose``), libraries at WARNING, all into
    the log; our own warnings also on the terminal. Handlers are removed afterwards, so a
    second command in the same process (the tests) starts clean."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _INSTALLED, False)]:
        root.removeHandler(handler)
    file_handler = logging.StreamHandler(sink)
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handlers: list[logging.Handler] = [file_handler]
    if not verbose:  # with --verbose the log itself is echoed
        handlers.append(_TerminalHandler(terminal))
    root.setLevel(logging.WARNING)
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    for handler in handlers:
        setattr(handler, _INSTALLED, True)
        root.addHandler(handler)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for handler in handlers:
            root.removeHandler(handler)
