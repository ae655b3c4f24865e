"""What every HTML report shares: Jinja2 templates from ``skillpath/reports/templates``
with autoescaping always on (department names, skill names and messages come from
customer files and must never become markup), and charts embedded as ``data:`` URIs so a
report is one file that opens offline, mailed or archived, and fetches nothing."""

from __future__ import annotations

import base64
import io
from typing import Any

import jinja2
import matplotlib

matplotlib.use("Agg")  # headless: runs in Dagster and CI without a display

from matplotlib.figure import Figure

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("skillpath.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a missing figure is an error, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(template: str, **context: Any) -> str:
    return _ENVIRONMENT.get_template(template).render(**context)


def png_data_uri(figure: Figure, dpi: int = 110) -> str:
    """The figure as a PNG ``data:`` URI for an ``<img src>``."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
