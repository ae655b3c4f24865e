"""The run-level lock on the warehouse.

Placeholder: only the exception exists so far; the lock itself (acquired by every
command that writes, stale locks of killed processes cleared) lands with the reliability
work. The CLI turns ``LockBusy`` into exit code 75 in one place (``skillpath.cli``).
"""

from __future__ import annotations


class LockBusy(RuntimeError):
    """Another command holds the warehouse. The message says which and since when."""
