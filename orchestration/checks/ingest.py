"""Asset checks on the raw tables (verdicts in ``skillpath.ingest.quality``):
``quarantine_share`` on every source and ``source_present`` on the required ones are
blocking, so marts are not built on a broken export; ``expectations`` reports the
expectation suite (stored in audit.validation_results) as a warning."""

from collections.abc import Callable

import dagster as dg

from orchestration.resources import SkillpathResource
from skillpath.ingest import SOURCES, quality
from skillpath.ingest.runner import prepare_connection
from skillpath.warehouse import connect, table_schema


def _result(verdict: quality.Verdict, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=verdict.passed,
        severity=severity,
        description=verdict.description,
        metadata={
            k: dg.MetadataValue.json(v) if isinstance(v, dict | list) else v
            for k, v in verdict.metadata.items()
        },
    )


def _check(
    table: str,
    name: str,
    blocking: bool,
    verdict: Callable,
    description: str,
) -> dg.AssetChecksDefinition:
    severity = dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN

    @dg.asset_check(
        asset=dg.AssetKey([table_schema(table), table]),
        name=name,
        blocking=blocking,
        description=description,
    )
    def _run(skillpath: SkillpathResource) -> dg.AssetCheckResult:
        settings = skillpath.settings()
        with connect(settings.warehouse) as con:
            prepare_connection(con, settings)
            return _result(verdict(con, settings, table), severity)

    return _run


INGEST_CHECKS = [
    check
    for source in SOURCES
    for check in (
        _check(
            source.table,
            "quarantine_share",
            True,
            lambda con, s, t: quality.quarantine_share(
                con, t, s.config.ingest.max_quarantine_share
            ),
            "No file has more than ingest.max_quarantine_share (skillpath/config.toml, 5%; "
            "SKILLPATH_MAX_QUARANTINE_SHARE) of its rows quarantined, and none failed as a whole.",
        ),
        _check(
            source.table,
            "expectations",
            False,
            lambda con, _s, t: quality.expectations(con, t),
            "The expectation suite of the raw table (columns, keys, ranges, accepted values, "
            "persons known to HR); results in audit.validation_results.",
        ),
        *(
            [
                _check(
                    source.table,
                    "source_present",
                    True,
                    quality.source_present,
                    f"The required source {source.path} is in the landing directory.",
                )
            ]
            if source.required
            else []
        ),
    )
]
