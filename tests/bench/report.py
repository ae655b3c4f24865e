"""Benchmarks write their figures into their own section of docs/benchmarks.md, so one
benchmark can be re-run without losing the others' results."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

import psutil

REPORT = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nWritten by `make bench` (tests/bench/); each section by its benchmark.\n"


def record(section: str, body: str) -> None:
    """Replace (or add) ``## section`` in docs/benchmarks.md with ``body``."""
    text = REPORT.read_text() if REPORT.exists() else HEADER
    machine = (
        f"_{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}_"
    )
    block = f"## {section}\n\n{machine}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text + "\n" + block
    REPORT.write_text(text)
