"""The exit codes of every ``skillpath`` command, in one place so that ``--help``, the
pipeline runner and scripts around the commands agree.

0, 1 and 2 are the pipeline's own outcomes. A mistyped option exits 64 (EX_USAGE of
sysexits.h) rather than the usual 2 of command-line parsers, so a script that tests for
"blocked by a gate" never mistakes a typo for a decision; 75 (EX_TEMPFAIL) means "try
again later": another command holds the warehouse.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1
    BLOCKED = 2
    USAGE = 64
    BUSY = 75


MEANING = {
    ExitCode.OK: "done; for run: the publication went live",
    ExitCode.FAILED: "failed, or nothing to work on; the message says which",
    ExitCode.BLOCKED: "run: a gate blocked the publication; the previous one stays current",
    ExitCode.USAGE: "an option or argument was wrong",
    ExitCode.BUSY: "another command holds the warehouse; retry when it has finished",
}
