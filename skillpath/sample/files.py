"""Writing landing files: byte-for-byte reproducible, streamed where they grow with the
history, and counted for the summary."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd


@dataclass
class FileStat:
    path: str  # relative to the landing (or truth) directory
    rows: int
    bytes: int


class CsvFile:
    """A CSV file written in parts: header once, then frames as they are produced.
    ``excel=True`` writes it the way a spreadsheet export does (UTF-8 BOM, CRLF)."""

    def __init__(self, root: Path, relative: str, columns: list[str], excel: bool = False):
        self.root, self.relative = root, relative
        self.columns = columns
        self.newline = "\r\n" if excel else "\n"
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = path.open("w", encoding="utf-8-sig" if excel else "utf-8", newline="")
        self._fh.write(",".join(columns) + self.newline)
        self.rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self._fh.write(
                frame[self.columns].to_csv(index=False, header=False, lineterminator=self.newline)
            )
            self.rows += len(frame)

    def close(self) -> FileStat:
        self._fh.close()
        return FileStat(self.relative, self.rows, (self.root / self.relative).stat().st_size)


def write_csv(root: Path, relative: str, frame: pd.DataFrame, excel: bool = False) -> FileStat:
    out = CsvFile(root, relative, list(frame.columns), excel=excel)
    out.write(frame)
    return out.close()
