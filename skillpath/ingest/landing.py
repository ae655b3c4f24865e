"""Files in the landing directory: which source each one is a delivery of, in which
order deliveries apply, and their fingerprints.

Files are named relative to the landing directory, so the ledger survives moving it. A
source's deliveries are the files matching its pattern (``Source.pattern``), applied in
file-name order (exports are named by date), then by modification time, then by path:
``employees-2026-11.csv`` before ``employees-2026-12.csv``. A file that matches no source
is reported (``unmatched_files``), never silently ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from skillpath.ingest.sources import SOURCES, Source


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str
    modified: float  # st_mtime: when the file was delivered (written) to the landing dir

    @property
    def gzipped(self) -> bool:
        return self.path.name.lower().endswith(".gz")

    @property
    def delivered_at(self) -> datetime:
        """The delivery time (naive UTC): the modification time, never later than now
        (a clock ahead on the sending side must not widen the plausible window)."""
        now = datetime.now(UTC)
        return min(datetime.fromtimestamp(self.modified, UTC), now).replace(tzinfo=None)


def checksum(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _landing_files(landing_dir: Path) -> list[LandingFile]:
    if not landing_dir.is_dir():
        return []
    out = []
    for path in landing_dir.rglob("*"):
        if path.is_file():
            relative = path.relative_to(landing_dir).as_posix()
            out.append(LandingFile(path, relative, path.stat().st_mtime))
    return out


def delivery_order(file: LandingFile) -> tuple[str, float, str]:
    return (file.path.name.lower(), file.modified, file.relative)


def source_files(landing_dir: Path, source: Source) -> list[LandingFile]:
    """The deliveries of one source, in the order they apply."""
    files = [f for f in _landing_files(landing_dir) if source.matches(f.relative)]
    return sorted(files, key=delivery_order)


def unmatched_files(landing_dir: Path) -> list[LandingFile]:
    """Files that are no delivery of any source (a misspelt name, a README, an export of
    something skillpath does not read), by path."""
    files = [
        f for f in _landing_files(landing_dir) if not any(s.matches(f.relative) for s in SOURCES)
    ]
    return sorted(files, key=lambda f: f.relative)


def landing_fingerprint(landing_dir: Path) -> dict[str, str]:
    """Cheap state of the whole landing directory (size and mtime per file) for the
    sensor's cursor: it decides whether to start a run; the run itself compares real
    checksums."""
    if not landing_dir.is_dir():
        return {}
    return {
        p.relative_to(landing_dir).as_posix(): f"{p.stat().st_size}:{p.stat().st_mtime_ns}"
        for p in sorted(landing_dir.rglob("*"))
        if p.is_file()
    }
