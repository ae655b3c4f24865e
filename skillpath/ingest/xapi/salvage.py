"""JSON delimited by its brackets: the statements of a JSON array or StatementResult
page that DuckDB cannot parse, and how deep a statement nests.

The statements of a JSON array or StatementResult page that DuckDB cannot parse
(cut off, not UTF-8, one element broken): every element that can be delimited, so the
good ones load and the bad ones are quarantined as themselves.

Elements are delimited by their brackets, strings skipped by one regular expression,
without judging them: whether each is valid JSON and a valid statement is decided by the
same SQL rules as every other statement. Only the last element can be incomplete (its
brackets never close): it is one quarantined row that says the file is cut off there.
This walks every bracket in Python: slow next to DuckDB's reader, and used only on a
file DuckDB refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from skillpath.ingest.records import Problem, Record

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_STRUCTURE = re.compile(r'["\[\]{}]')
_STATEMENTS = re.compile(r'"statements"\s*:\s*\[')
_SCALAR = re.compile(r"[^,\]}]*")  # a number, true, false, null: up to the next , ] }
_WHITESPACE = " \t\r\n"


@dataclass
class Salvage:
    elements: list[str | None] = field(default_factory=list)  # None: a bad element
    bad: list[Record] = field(default_factory=list)  # numbered from 1, as elements
    note: str | None = None  # the array is not closed (after a complete element)


def _value_end(text: str, pos: int) -> int | None:
    """Where the JSON value starting at ``pos`` ends (exclusive), by brackets; None when
    its brackets (or its string) never close."""
    if text[pos] == '"':
        string = _STRING.match(text, pos)
        return string.end() if string else None
    if text[pos] not in "[{":  # at least one character, so a stray } or : moves on
        return max(_SCALAR.match(text, pos).end(), pos + 1)
    depth = 0
    while True:
        found = _STRUCTURE.search(text, pos)
        if found is None:
            return None
        char = found.group()
        if char == '"':
            string = _STRING.match(text, found.start())
            if string is None:
                return None
            pos = string.end()
            continue
        depth += 1 if char in "[{" else -1
        pos = found.end()
        if depth == 0:
            return pos


def json_depth(text: str | None) -> str | None:
    """How deep the JSON text nests (brackets outside strings), as text for SQL
    (``privacy.define_function``); counted without recursion, so any depth is safe."""
    if text is None:
        return None
    depth = deepest = pos = 0
    while (found := _STRUCTURE.search(text, pos)) is not None:
        char = found.group()
        if char == '"':
            string = _STRING.match(text, found.start())
            if string is None:
                break
            pos = string.end()
            continue
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
        pos = found.end()
    return str(deepest)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WHITESPACE:
        pos += 1
    return pos


def salvage(data: bytes, relative: str) -> Salvage:
    """The elements of the statements array of ``data`` (a JSON array, a StatementResult,
    or one statement), each on one line or None where it cannot be given to DuckDB."""
    text = data.decode("utf-8", errors="surrogateescape").lstrip("\ufeff")
    out = Salvage()
    start = _skip(text, 0)
    if text.startswith("[", start):
        pos = start + 1
    elif (page := _STATEMENTS.search(text)) is not None:
        pos = page.end()
    else:  # one statement
        if start < len(text):
            _element(out, text, start, relative)
        return out
    while True:
        pos = _skip(text, pos)
        if pos >= len(text) or text[pos] == "]":
            if pos >= len(text):
                out.note = "the statements array is not closed: the file may be cut off"
            return out
        end = _element(out, text, pos, relative)
        if end is None:
            return out
        pos = _skip(text, end)
        if pos < len(text) and text[pos] == ",":
            pos += 1


def _element(out: Salvage, text: str, pos: int, relative: str) -> int | None:
    """Add the element at ``pos``; where it ends (None: it runs to the end of the file)."""
    end = _value_end(text, pos)
    number = len(out.elements) + 1
    if end is None:
        _cut(out, relative, f"element {number} is never closed")
        return None
    element = text[pos:end]
    if any("\udc80" <= ch <= "\udcff" for ch in element):
        out.elements.append(None)
        out.bad.append(
            Record(
                number,
                Problem(
                    "undecodable",
                    f"{relative} element {number}: not UTF-8 text; export the file again as UTF-8",
                ),
            )
        )
    else:  # a line break outside a string is JSON whitespace; inside one it is invalid
        out.elements.append(element.replace("\r", " ").replace("\n", " "))
    return end


def _cut(out: Salvage, relative: str, what: str) -> None:
    number = len(out.elements) + 1
    out.elements.append(None)
    out.bad.append(
        Record(
            number,
            Problem(
                "malformed_json",
                f"{relative} element {number}: the file ends inside it ({what}): the export "
                "is cut off or broken there; export it again",
            ),
        )
    )
