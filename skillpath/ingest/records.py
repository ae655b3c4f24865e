"""A CSV export split into its records from the bytes, before any parser sees it.

``rows_in`` must not depend on what a parser managed to read: a parser that gives up on
a 50 MB line, an undecodable byte or a stray quote used to drop the row without a trace
(or fail the file with a masked error). Here every physical line of the file ends up in
exactly one record (RFC 4180: a line break inside a quoted value continues the record),
and every record is either handed on as fields or comes back with the reason it cannot
be: too long, not UTF-8, not well-formed CSV, or a wrong number of values. Nothing of a
record's content is ever put into a message, which may reach logs: messages name the
line and the column.

The file is read in blocks and split into lines by ``bytes.split``; a line without a
quote (most of them) is one record, checked without being split. A line longer than the
limit is counted but never held in memory. The good records come out as one canonical
CSV text (each prefixed with its line number; records with quotes rewritten by the csv
module, so whatever reads it next agrees with it on every value), which the loader hands
to Arrow's CSV reader: per record, Python only counts and checks.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BOM = b"\xef\xbb\xbf"
_BLOCK = 1 << 23
_QUOTE = 0x22
_COMMA = 0x2C


@dataclass(frozen=True)
class Problem:
    code: str  # the quarantine reason code
    message: str  # what is wrong and what to do; never the row's content


@dataclass(frozen=True)
class Record:
    """A record that cannot be loaded: its first physical line and why."""

    line: int
    problem: Problem | None = None


@dataclass
class CsvFile:
    header: list[str]
    header_problem: str | None  # why the file cannot be read at all (then no rows)
    # the good records: "<first line>,<values as in the header>" per record
    good: list[bytes] = field(default_factory=list)
    bad: list[Record] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return len(self.good) + len(self.bad)


def _line_blocks(path: Path, max_bytes: int) -> Iterator[tuple[int, list[bytes | int]]]:
    """The file's lines, a block at a time: (number of the block's first line, its
    lines without the line break). A line longer than ``max_bytes`` is its length (an
    int) instead: it is never joined up in memory."""
    number, carry, carry_size, too_long = 1, b"", 0, False
    with path.open("rb") as fh:
        while block := fh.read(_BLOCK):
            parts = block.split(b"\n")
            lines: list[bytes | int] = []
            for part in parts[:-1]:
                size = carry_size + len(part)
                if too_long or size > max_bytes:
                    lines.append(size)
                else:
                    lines.append(carry + part if carry else part)
                carry, carry_size, too_long = b"", 0, False
            tail = parts[-1]
            carry_size += len(tail)
            if too_long or carry_size > max_bytes:
                carry, too_long = b"", True
            else:
                carry += tail
            if lines:
                yield number, lines
                number += len(lines)
    if carry_size:
        yield number, [carry_size if too_long else carry]


def _scan_quotes(line: bytes, in_quote: bool) -> bool:
    """Whether a quoted value is still open at the end of ``line`` (which starts a
    field). A quote opens a value only at the start of a field (as RFC 4180 and DuckDB's
    and Python's readers agree); inside one, ``""`` is a quote and a single ``"``
    closes it."""
    pos, end = 0, len(line)
    while pos < end:
        q = line.find(b'"', pos)
        if q < 0:
            return in_quote
        if in_quote:
            if q + 1 < end and line[q + 1] == _QUOTE:
                pos = q + 2
                continue
            in_quote = False
        elif q == 0 or line[q - 1] == _COMMA:
            in_quote = True
        pos = q + 1
    return in_quote


def _decode(data: bytes) -> tuple[str, int | None]:
    """The text, and the offset of the first byte that is not UTF-8 text (None if all
    are); a NUL byte is valid UTF-8 but no text, the mark of a binary file."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="surrogateescape"), exc.start
    nul = data.find(b"\x00")
    return text, (nul if nul >= 0 else None)


def _fields(text: str) -> list[str]:
    """One record's values (raises ``csv.Error``); a record without quotes is split
    without the csv module (most records, at a tenth of the cost)."""
    if '"' not in text:
        return text.split(",")
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    if len(rows) != 1:
        raise csv.Error("a line break outside a quoted value")
    return rows[0]


def _column_of(fields: list[str], header: list[str]) -> str:
    """The column holding the first undecodable byte (decoded as a surrogate, or NUL)."""
    for i, value in enumerate(fields):
        if any("\udc80" <= ch <= "\udcff" or ch == "\x00" for ch in value):
            return f" in column {header[i]}" if i < len(header) else f" in value {i + 1}"
    return ""


def _header(data: bytes | int, max_bytes: int) -> tuple[list[str], str | None]:
    if isinstance(data, int):
        return [], (
            f"the first line is {data:,} bytes long (limit {max_bytes:,}, "
            "ingest.max_record_bytes): not a CSV header row"
        )
    text, bad = _decode(data.removeprefix(BOM).rstrip(b"\r"))
    if bad is not None:
        return [], f"the header row is not UTF-8 text (byte {bad + 1}); is it a CSV export?"
    try:
        names = _fields(text)
    except csv.Error as exc:
        return [], f"the header row is not well-formed CSV on one line ({exc})"
    return _unique([n.strip() for n in names]), None


def _unique(names: list[str]) -> list[str]:
    """Header names as columns: empty ones numbered, repeated ones suffixed."""
    out: list[str] = []
    for i, name in enumerate(names):
        name = name or f"column{i + 1}"
        candidate, n = name, 2
        while candidate in out:
            candidate, n = f"{name}_{n}", n + 1
        out.append(candidate)
    return out


def _nonblank(line: bytes | int) -> bool:
    return isinstance(line, int) or bool(line.strip())


def read_csv_records(path: Path, max_bytes: int, relative: str) -> CsvFile:
    """Every record of a CSV file with a header row. ``relative`` names the file in
    messages."""
    blocks = _line_blocks(path, max_bytes)
    first, lines = next(blocks, (1, []))
    while lines and not _nonblank(lines[0]):  # blank lines before the header
        first, lines = first + 1, lines[1:]
    if not lines:
        return CsvFile([], "the file is empty (no header row)")
    header, problem = _header(lines[0], max_bytes)
    if problem is not None:
        # no CSV to split by: every non-blank line after the header is a row
        numbered = [(first + i, line) for i, line in enumerate(lines[1:], start=1)]
        numbered += [(n + i, line) for n, block in blocks for i, line in enumerate(block)]
        return CsvFile([], problem, bad=[Record(n) for n, line in numbered if _nonblank(line)])
    reader = _Reader(CsvFile(header, None), max_bytes, relative)
    reader.block(first + 1, lines[1:])
    for number, block in blocks:
        reader.block(number, block)
    return reader.finish()


class _Reader:
    """Records from line blocks: a block without quotes, CRs or NULs that is UTF-8 is
    checked line by line without decoding (``_plain``); any other block goes through
    the quote-aware record assembly (``_line``)."""

    def __init__(self, out: CsvFile, max_bytes: int, relative: str) -> None:
        self.out, self.max_bytes, self.relative = out, max_bytes, relative
        self.commas = len(out.header) - 1
        self.in_quote = False
        self.start, self.parts, self.size, self.too_long = 0, [], 0, False

    def block(self, first: int, lines: list[bytes | int]) -> None:
        if not self.in_quote and all(isinstance(line, bytes) for line in lines):
            joined = b"\n".join(lines)
            crs = joined.count(b"\r")
            plain = _QUOTE not in joined and b"\x00" not in joined
            crlf = crs == len(lines) and joined.endswith(b"\r")
            if plain and (crs == 0 or (crlf and joined.count(b"\r\n") == crs - 1)):
                try:
                    joined.decode("utf-8")
                except UnicodeDecodeError:
                    plain = False
                if plain:
                    self._plain(first, lines, crs > 0)
                    return
        for i, line in enumerate(lines):
            self._line(first + i, line)

    def _plain(self, first: int, lines: list[bytes], crlf: bool) -> None:
        good, commas = self.out.good, self.commas
        for i, line in enumerate(lines):
            if crlf:
                line = line[:-1]
            if not line or line.isspace():
                continue
            if line.count(b",") == commas:
                good.append(b"%d,%b" % (first + i, line))
            else:
                self._check(first + i, line)

    def _line(self, number: int, line: bytes | int) -> None:
        if not self.in_quote:
            if isinstance(line, bytes) and _QUOTE not in line:  # a record of its own
                if line.strip():
                    self._check(number, line[:-1] if line.endswith(b"\r") else line)
                return
            self.start, self.parts, self.size, self.too_long = number, [], 0, False
        length = line if isinstance(line, int) else len(line)
        self.size += length + (1 if self.in_quote else 0)
        if isinstance(line, int) or self.too_long or self.size > self.max_bytes:
            self.too_long, self.parts = True, []
        else:
            self.parts.append(line)
        if isinstance(line, bytes):
            self.in_quote = _scan_quotes(line, self.in_quote)
        if not self.in_quote:
            self._assembled()

    def _assembled(self) -> None:
        if self.too_long:
            self._bad(self.start, _too_long(self.relative, self.start, self.size, self.max_bytes))
            return
        data = b"\n".join(self.parts)
        if data.strip():
            self._check(self.start, data[:-1] if data.endswith(b"\r") else data)

    def finish(self) -> CsvFile:
        if self.in_quote:
            self._bad(
                self.start,
                Problem(
                    "malformed_row",
                    f"{self.relative} line {self.start}: a quoted value opened here is never "
                    "closed (the rest of the file was read as part of it); close it or remove "
                    "the quote",
                ),
            )
        return self.out

    def _bad(self, line: int, problem: Problem) -> None:
        self.out.bad.append(Record(line, problem))

    def _check(self, line: int, data: bytes) -> None:
        problem = _check(data, line, f"{self.relative} line {line}", self.out.header, self.out)
        if problem is not None:
            self._bad(line, problem)


def _check(data: bytes, line: int, where: str, header: list[str], out: CsvFile) -> Problem | None:
    """Append the record to ``out.good`` or return its problem."""
    simple = _QUOTE not in data and b"\r" not in data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _undecodable(where, exc.start, data, header)
    if b"\x00" in data:
        return _undecodable(where, data.find(b"\x00"), data, header)
    if simple:
        got = data.count(b",") + 1
        if got == len(header):
            out.good.append(b"%d," % line + data)
            return None
    else:
        try:
            fields = _fields(text)
        except csv.Error as exc:
            return Problem(
                "malformed_row", f"{where}: not well-formed CSV ({exc}); fix the quoting"
            )
        got = len(fields)
        if got == len(header):
            buffer = io.StringIO()
            csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="").writerow(fields)
            out.good.append(b"%d," % line + buffer.getvalue().encode("utf-8"))
            return None
    return Problem(
        "malformed_row",
        f"{where}: {got} values, the header has {len(header)}; fix the number of fields "
        "(a value with a comma must be quoted)",
    )


def _too_long(relative: str, line: int, size: int, max_bytes: int) -> Problem:
    return Problem(
        "line_too_long",
        f"{relative} line {line}: the row is {size:,} bytes long, over the limit of "
        f"{max_bytes:,} (ingest.max_record_bytes); the export is broken there: fix or "
        "remove that line",
    )


def _undecodable(where: str, offset: int, data: bytes, header: list[str]) -> Problem:
    """Where the first byte that is not text is: its offset and, if the record can be
    split, its column."""
    try:
        fields = _fields(data.decode("utf-8", errors="surrogateescape"))
    except csv.Error:
        fields = []
    column = _column_of(fields, header)
    return Problem(
        "undecodable",
        f"{where}: byte {offset + 1} of the row{column} is not UTF-8 text; export the file "
        "again as UTF-8",
    )
