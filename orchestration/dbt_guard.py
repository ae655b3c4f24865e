"""``skillpath-dbt``: dbt, bound to the life of the process that started it.

dagster-dbt starts dbt as a child process. When that parent was killed (kill -9, the OOM
killer), dbt went on building marts as an orphan, holding DuckDB's write lock, and the
next run failed on it. Dagster starts this launcher instead (``dbt_project.dbt_resource``):
on Linux it asks the kernel to kill it when its parent dies (``PR_SET_PDEATHSIG``, which
survives ``exec``), then replaces itself with dbt. Should the parent already be gone by
then, it exits rather than run unsupervised. Elsewhere it simply runs dbt.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path

PARENT_ENV = "SKILLPATH_DBT_PARENT_PID"  # set by the parent: who dbt must not outlive
TARGET_ENV = "SKILLPATH_DBT_EXECUTABLE"  # the program to run instead of dbt (tests)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _dbt() -> str:
    return os.environ.get(TARGET_ENV) or str(Path(sys.executable).parent / "dbt")


def main() -> None:
    _die_with_parent()
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        sys.exit("skillpath-dbt: the process that started dbt is gone; not running dbt")
    target = _dbt()
    os.execv(target, [target, *sys.argv[1:]])


if __name__ == "__main__":
    main()
