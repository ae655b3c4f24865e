"""Files in the landing directory, named relative to it so the ledger survives moving
the directory, and fingerprinted so a changed file is noticed and an unchanged one is
skipped (``audit.ingest_log`` keys on path + checksum)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from skillpath.ingest.sources import Source

STATEMENT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True)
class LandingFile:
    path: Path
    relative: str

    @property
    def gzipped(self) -> bool:
        return self.path.name.lower().endswith(".gz")


def checksum(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _is_statement_file(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(STATEMENT_SUFFIXES)


def source_files(landing_dir: Path, source: Source) -> list[LandingFile]:
    """The files of one source, in a stable order (name order: exports are usually
    named by date, and the first occurrence of a statement id wins)."""
    target = landing_dir / source.path
    if source.is_statements:
        paths = (
            sorted(p for p in target.rglob("*") if _is_statement_file(p)) if target.is_dir() else []
        )
    else:
        paths = [target] if target.is_file() else []
    return [LandingFile(p, p.relative_to(landing_dir).as_posix()) for p in paths]


def ignored_files(landing_dir: Path, source: Source) -> list[str]:
    """Files in the statements directory that are not statement exports (reported)."""
    target = landing_dir / source.path
    if not (source.is_statements and target.is_dir()):
        return []
    return sorted(
        p.relative_to(landing_dir).as_posix()
        for p in target.rglob("*")
        if p.is_file() and not _is_statement_file(p)
    )


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
