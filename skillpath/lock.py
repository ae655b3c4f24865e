"""The run-level lock: one writing command at a time per warehouse.

DuckDB lets one process write a file; two writers used to both fail on its lock, one
with a raw traceback. Every command that writes (``skillpath run``, ``ingest``,
``erase``, ``tune``, retention, and every Dagster run, through its resource) therefore
takes this lock first::

    with run_lock(settings, "erase") as session:
        ...

A second command waits up to ``operations.lock_wait_seconds`` (saying so) and then
raises :class:`LockBusy`, which the CLI turns into exit code 75 (``EX_TEMPFAIL``: try
again later) with one message naming the holder.

The lock is an ``flock`` on ``<warehouse>.lock``: the kernel releases it when the holder
dies, however it dies, so a lock can never stay stale. The file's content says who holds
it (pid, command, start, the Dagster runs it started); the holder marks it released on
the way out. A later command that finds content not marked released knows its holder was
killed (kill -9, power loss) and gets it as ``session.interrupted``, to clean up after it
(``orchestration.recovery``). Within one process the lock is re-entrant: ``skillpath run``
holds it, and the Dagster run it starts enters it again without waiting for itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import psutil

from skillpath.settings import Settings

EX_TEMPFAIL = 75  # sysexits.h: a temporary failure, the caller may retry later
_POLL_SECONDS = 0.2


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started (to tell it from a later process with its pid)."""
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) the lock, as written in the lock file."""

    pid: int
    command: str
    started_at: str
    host: str
    process_started: float | None = None
    program: str = ""  # argv[0]: MLflow records it as a run's source
    dagster_runs: tuple[str, ...] = ()
    released_at: str | None = None

    def describe(self) -> str:
        return f"'{self.command}' (pid {self.pid} on {self.host}, since {self.started_at})"

    @property
    def alive(self) -> bool:
        """Whether the holder's process still runs (on this host; a reused pid is a
        different process)."""
        if self.host != socket.gethostname():
            return True  # cannot tell; the flock decides
        started = _process_started(self.pid)
        if started is None:
            return False
        return self.process_started is None or abs(started - self.process_started) < 1.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_text(cls, text: str) -> Holder | None:
        try:
            data = json.loads(text)
            data["dagster_runs"] = tuple(data.get("dagster_runs", ()))
            return cls(**data)
        except (ValueError, TypeError):
            return None


class LockBusy(RuntimeError):
    """Another command holds the warehouse; exit code ``EX_TEMPFAIL``."""

    exit_code = EX_TEMPFAIL

    def __init__(self, path: Path, holder: Holder | None, waited: float) -> None:
        self.holder = holder
        who = holder.describe() if holder else "another process"
        waited_text = f" after waiting {waited:.0f} s" if waited >= 1 else ""
        super().__init__(
            f"the warehouse is busy{waited_text}: {who} is writing it (lock {path}). "
            "Run this again when it is done, or let it wait: SKILLPATH_LOCK_WAIT_SECONDS=600"
        )


@dataclass
class LockSession:
    """The lock, held. ``interrupted``: the previous holder, if it died holding it."""

    path: Path
    holder: Holder
    interrupted: Holder | None
    _fh: object = field(repr=False, default=None)

    def note_dagster_run(self, run_id: str) -> None:
        """Record a Dagster run started under the lock, so that, should this process be
        killed, the next command can mark the run failed."""
        if run_id not in self.holder.dagster_runs:
            self.holder = replace(self.holder, dagster_runs=(*self.holder.dagster_runs, run_id))
            self._write(self.holder)

    def _write(self, holder: Holder) -> None:
        fh = self._fh
        fh.seek(0)
        fh.truncate()
        fh.write(holder.to_json())
        fh.flush()


_held: dict[Path, LockSession] = {}
_held_guard = threading.Lock()


def read_holder(warehouse: Path) -> Holder | None:
    """The lock file's content (None when there is none), without taking the lock."""
    try:
        return Holder.from_text(lock_path(warehouse).read_text())
    except OSError:
        return None


def current_holder(warehouse: Path) -> Holder | None:
    """The holder of the lock if a live process holds it now."""
    holder = read_holder(warehouse)
    if holder is None or holder.released_at is not None or not holder.alive:
        return None
    return holder


def _try_flock(fh) -> bool:
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _acquire(path: Path, wait_seconds: float, notify: Callable[[str], None]):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fh = os.fdopen(fd, "r+")
    start = time.monotonic()
    told = False
    while not _try_flock(fh):
        waited = time.monotonic() - start
        if waited >= wait_seconds:
            fh.close()
            raise LockBusy(path, Holder.from_text(path.read_text()), waited)
        if not told:
            holder = Holder.from_text(path.read_text())
            who = holder.describe() if holder else "another process"
            notify(f"waiting up to {wait_seconds:.0f} s for {who} to finish with the warehouse")
            told = True
        time.sleep(min(_POLL_SECONDS, max(wait_seconds - waited, 0.01)))
    return fh


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def held_here(settings: Settings) -> bool:
    """Whether this process holds the lock already (a Dagster run inside ``skillpath run``
    enters it again): what was done on taking it need not be done again."""
    with _held_guard:
        return lock_path(settings.warehouse) in _held


@contextlib.contextmanager
def run_lock(
    settings: Settings,
    command: str,
    wait_seconds: float | None = None,
    notify: Callable[[str], None] = _stderr,
) -> Iterator[LockSession]:
    """Hold the warehouse's run-level lock for ``command`` (a short name people read in
    the busy message). ``wait_seconds``: how long to wait for another holder (default
    ``operations.lock_wait_seconds``). Raises :class:`LockBusy`."""
    path = lock_path(settings.warehouse)
    with _held_guard:
        session = _held.get(path)
    if session is not None:  # held_here: skillpath run → its Dagster run
        yield session
        return
    wait = settings.config.operations.lock_wait_seconds if wait_seconds is None else wait_seconds
    fh = _acquire(path, wait, notify)
    try:
        fh.seek(0)
        previous = Holder.from_text(fh.read())
        interrupted = previous if previous and previous.released_at is None else None
        pid = os.getpid()
        holder = Holder(
            pid=pid,
            command=command,
            started_at=_now(),
            host=socket.gethostname(),
            process_started=_process_started(pid),
            program=sys.argv[0] if sys.argv else "",
        )
        session = LockSession(path, holder, interrupted, fh)
        session._write(holder)
        with _held_guard:
            _held[path] = session
        try:
            yield session
        finally:
            with _held_guard:
                _held.pop(path, None)
            session._write(replace(session.holder, released_at=_now()))
    finally:
        fh.close()  # closing the file releases the flock
