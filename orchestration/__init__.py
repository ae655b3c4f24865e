"""Dagster wiring for skillpath: thin assets, checks, schedules and sensors over the
pure-Python packages ``skillpath`` (ingestion, sample) and ``ml`` (recommender).

``orchestration`` and ``ml`` are generic top-level names (docs/architecture.md, "Package
names"): importing this package fails with a clear message when ``ml`` is another
distribution's package rather than this project's."""

import ml

PROJECT = "skillpath"

if getattr(ml, "PROJECT", None) != PROJECT:
    raise ImportError(
        f"'import ml' found {getattr(ml, '__file__', ml)!r}, not skillpath's ml/ package: "
        "another installed distribution also provides a top-level 'ml'. Install skillpath "
        "in its own virtualenv (make install) or uninstall the other package."
    )
