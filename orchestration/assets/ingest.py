"""One asset per landing source, ``raw/<table>``, grouped ingest_hr / ingest_lms /
ingest_surveys; the work is in ``skillpath.ingest``. Sources whose rows refer to
employees or catalogue items depend on those, so HR is ingested first. Files that are no
delivery of any source are recorded and reported by ``unmatched_landing_files``."""

import dagster as dg

from orchestration.resources import SkillpathResource
from skillpath.ingest import SOURCES, SourceResult, ingest_source
from skillpath.ingest.runner import record_unmatched
from skillpath.ingest.sources import Source
from skillpath.warehouse import qualified, table_schema

LANDING_GROUP = "ingest_landing"


def _metadata(result: SourceResult) -> dict:
    return {
        "files_ingested": len(result.files),
        "files_unchanged": len(result.skipped),
        "files_failed": len(result.failed_files),
        "rows_in": result.total("rows_in"),
        "rows_loaded": result.total("rows_loaded"),
        "rows_quarantined": result.total("rows_quarantined"),
        "rows_duplicate": result.total("rows_duplicate"),
        "rows_erased": result.total("rows_erased"),
        "table_rows": result.table_rows,
        "source_present": result.present,
        "files": dg.MetadataValue.json(
            [
                {
                    "file": f.file,
                    "status": f.status,
                    "rows_in": f.rows_in,
                    "rows_loaded": f.rows_loaded,
                    "rows_quarantined": f.rows_quarantined,
                    "rows_duplicate": f.rows_duplicate,
                    "rows_erased": f.rows_erased,
                    "reasons": f.reasons,
                    "message": f.message,
                }
                for f in result.files
            ]
        ),
        **({"held_files": dg.MetadataValue.json(result.held)} if result.held else {}),
        **result.extra,
    }


def _ingest_asset(source: Source) -> dg.AssetsDefinition:
    @dg.asset(
        name=source.table,
        key_prefix=table_schema(source.table),
        group_name=source.group,
        deps=[dg.AssetKey([table_schema(table), table]) for table in source.needs],
        kinds={"duckdb"},
        description=f"{qualified(source.table)} from landing/{source.path} "
        f"({'required' if source.required else 'optional'} source)",
    )
    def _asset(context: dg.AssetExecutionContext, skillpath: SkillpathResource):
        result = ingest_source(skillpath.settings(), source.table)
        context.log.info(result.describe())
        for file in result.files:
            if file.message:
                context.log.warning(file.headline)
        for held in result.held:
            context.log.warning(
                f"{held} is held as suspect_truncated (nothing of it applied): confirm it "
                f"with skillpath ingest --accept {held}, or deliver a complete export"
            )
        return dg.MaterializeResult(metadata=_metadata(result))

    return _asset


INGEST_ASSETS = [_ingest_asset(source) for source in SOURCES]


@dg.asset(group_name=LANDING_GROUP, kinds={"duckdb"})
def unmatched_landing_files(
    context: dg.AssetExecutionContext, skillpath: SkillpathResource
) -> dg.MaterializeResult:
    """Files in the landing directory that match no source's pattern: recorded in
    audit.ingest_log (status unmatched) and reported, never silently ignored."""
    unmatched = record_unmatched(skillpath.settings())
    for file in unmatched:
        context.log.warning(file.message)
    return dg.MaterializeResult(
        metadata={
            "unmatched": len(unmatched),
            "files": dg.MetadataValue.json([f.file for f in unmatched]),
        }
    )
