"""Landing files → ``raw.*``: validated, pseudonymised, quarantined, every row accounted
for in ``audit.ingest_log`` (docs/data-contract.md)."""

from skillpath.ingest.runner import SourceResult, ingest_all, ingest_source
from skillpath.ingest.sources import SOURCES, SOURCES_BY_TABLE

__all__ = ["SOURCES", "SOURCES_BY_TABLE", "SourceResult", "ingest_all", "ingest_source"]
