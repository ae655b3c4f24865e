"""The lines of a statement export, counted from its bytes before DuckDB reads it.

DuckDB's line reader fails a whole file on one byte that is not UTF-8 or on a gzip
stream cut short, and silently splits a line at a lone carriage return (losing part of
it). So every file is first read here, a block at a time: its non-blank lines are
counted (the file's ``rows_in`` when it is JSON lines), and the lines DuckDB could not
take are found: not UTF-8 (``undecodable``), a carriage return inside the line
(``malformed_json``), longer than DuckDB reads (``line_too_long``). When there are any,
or the gzip stream ends early, DuckDB reads a private copy instead (``write_readable``)
in which those lines are blank, so every other statement of the file still loads and
keeps its line number. On the usual clean file this is one pass of ``bytes`` methods
per 8 MiB block.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from skillpath.ingest.records import Problem, Record

_BLOCK = 1 << 23
_READER_MAX_LINE = 1 << 30  # DuckDB's max_line_size in reader.py
_BLANK = b" \t\r\x0b\x0c"  # what a blank line may hold (reader.BLANK_CHARS in SQL)


@dataclass
class Census:
    lines: int = 0  # non-blank lines
    last_line: int = 0  # physical lines
    blank: list[int] = field(default_factory=list)  # numbers of the blank lines
    bad: list[Record] = field(default_factory=list)  # lines DuckDB must not be given
    cut: str | None = None  # why the compressed stream ended early

    @property
    def readable_as_is(self) -> bool:
        return not self.bad and self.cut is None


def chunks(path: Path, gzipped: bool, census: Census) -> Iterator[bytes]:
    """The file's (decompressed) bytes; a gzip stream that ends early or is corrupt
    ends the chunks and sets ``census.cut``."""
    with path.open("rb") as fh:
        if not gzipped:
            while chunk := fh.read(_BLOCK):
                yield chunk
            return
        decompressor = None
        while chunk := fh.read(_BLOCK):
            while chunk:
                if decompressor is None or decompressor.eof:  # a (further) gzip member
                    decompressor = zlib.decompressobj(wbits=31)
                try:
                    yield decompressor.decompress(chunk)
                except zlib.error as exc:
                    census.cut = f"the gzip data is corrupt ({exc})"
                    return
                chunk = decompressor.unused_data if decompressor.eof else b""
        if decompressor is None or not decompressor.eof:
            if decompressor is not None:
                yield decompressor.flush()
            census.cut = "the gzip file is cut off before its end"


def _lines(path: Path, gzipped: bool, census: Census) -> Iterator[tuple[int, list[bytes | int]]]:
    """(number of the first line, the lines) per block; a line longer than DuckDB reads
    is its length (int) instead."""
    number, carry, carry_size = 1, b"", 0
    for chunk in chunks(path, gzipped, census):
        parts = chunk.split(b"\n")
        lines: list[bytes | int] = []
        for part in parts[:-1]:
            size = carry_size + len(part)
            lines.append(size if size > _READER_MAX_LINE else carry + part if carry else part)
            carry, carry_size = b"", 0
        carry_size += len(parts[-1])
        carry = b"" if carry_size > _READER_MAX_LINE else carry + parts[-1]
        if lines:
            yield number, lines
            number += len(lines)
    if carry_size:
        yield number, [carry_size if carry_size > _READER_MAX_LINE else carry]


_BLANK_LINE = re.compile(rb"\n[ \t\r\x0b\x0c]*(?=\n)")


def take_census(path: Path, gzipped: bool, relative: str, utf8: bool) -> Census:
    """``utf8``: also find the lines that are not UTF-8 (a decode of every block; DuckDB
    checks it anyway, so this is done when DuckDB refused the file)."""
    census = Census()
    number, carry, skipped = 1, b"", 0  # next line; its start; length of a huge line
    for chunk in chunks(path, gzipped, census):
        first = chunk.find(b"\n")
        if first < 0:  # no line ends here
            if skipped or len(carry) + len(chunk) > _READER_MAX_LINE:
                skipped, carry = (skipped or len(carry)) + len(chunk), b""
            else:
                carry += chunk
            continue
        # the line the previous chunks began, then the chunk's whole lines, read in place
        _one_line(
            census, number, skipped + first if skipped else carry + chunk[:first], relative, utf8
        )
        last = chunk.rfind(b"\n")
        number = _block(census, number + 1, chunk, first, last, relative, utf8)
        carry, skipped = chunk[last + 1 :], 0
    if skipped or carry:
        _one_line(census, number, skipped or carry, relative, utf8)
        number += 1
    census.last_line = number - 1
    return census


def _is_utf8(data: bytes) -> bool:
    if data.isascii():  # no copy, and most exports are
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _block(
    census: Census, number: int, chunk: bytes, start: int, end: int, relative: str, utf8: bool
) -> int:
    """Count the lines of ``chunk`` between the line feeds at ``start`` and ``end``
    (numbered from ``number``); returns the number of the line after them. The usual
    block (no carriage return but before a line feed, UTF-8 when asked) is checked with
    a few ``bytes`` calls in place; any other is gone through line by line."""
    lines = chunk.count(b"\n", start + 1, end + 1)
    if not lines:
        return number
    crs = chunk.count(b"\r", start, end)
    fine = not crs or crs == chunk.count(b"\r\n", start, end + 1)
    if fine and (not utf8 or _is_utf8(chunk[start + 1 : end])):
        blank = [  # a match starts at the line feed before a blank line
            number + chunk.count(b"\n", start + 1, m.start() + 1)
            for m in _BLANK_LINE.finditer(chunk, start, end + 1)
        ]
        census.blank += blank
        census.lines += lines - len(blank)
        return number + lines
    for i, line in enumerate(chunk[start + 1 : end].split(b"\n")):
        _one_line(census, number + i, line, relative, utf8)
    return number + lines


def _one_line(
    census: Census, number: int, line: bytes | int, relative: str, utf8: bool = True
) -> None:
    where = f"{relative} line {number}"
    if isinstance(line, int):
        census.lines += 1
        census.bad.append(
            Record(
                number,
                Problem(
                    "line_too_long",
                    f"{where}: the line is {line:,} bytes long, more than a statement can be; "
                    "the export is broken there: fix or remove that line",
                ),
            )
        )
        return
    if not line.strip(_BLANK):
        census.blank.append(number)
        return
    census.lines += 1
    body = line[:-1] if line.endswith(b"\r") else line
    try:
        if utf8:
            body.decode("utf-8")
    except UnicodeDecodeError as exc:
        census.bad.append(
            Record(
                number,
                Problem(
                    "undecodable",
                    f"{where}: byte {exc.start + 1} of the line is not UTF-8 text; export "
                    "the file again as UTF-8",
                ),
            )
        )
        return
    if b"\r" in body:
        census.bad.append(
            Record(
                number,
                Problem(
                    "malformed_json",
                    f"{where}: a carriage return inside the line (JSON text escapes it as "
                    "\\r); fix or remove that line",
                ),
            )
        )


def write_readable(path: Path, gzipped: bool, census: Census, target: Path) -> None:
    """A plain copy of the file that DuckDB can read: the lines of ``census.bad`` blank,
    and, for a cut gzip stream, what could be decompressed. Private to the owner (it
    holds what the export holds)."""
    bad = {record.line for record in census.bad}
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        for first, lines in _lines(path, gzipped, Census()):
            out.write(
                b"\n".join(
                    b"" if first + i in bad or isinstance(line, int) else line
                    for i, line in enumerate(lines)
                )
                + b"\n"
            )
