"""Asset checks of the recommender.

The model must beat the role-popularity baseline ("everyone in sales gets course B") on
the hold-out NDCG@10, or it has no business replacing it: a failure is an ERROR here and
blocks at the publication's model-quality gate (``skillpath.publish.gates``), which runs
downstream so that the blocked publication is recorded with its reasons instead of being
silently skipped. When no model could be trained (too little data) the check warns, and
publishing goes ahead with role paths.
"""

import dagster as dg

from ml.evaluate import MODEL, PRIMARY_METRIC, REFERENCE_BASELINE


@dg.asset_check(asset="model_evaluation")
def model_beats_role_popularity(model_evaluation: dict) -> dg.AssetCheckResult:
    if "skipped" in model_evaluation:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"no model to check: {model_evaluation['skipped']}; "
            "recommendations fall back to role paths",
        )
    model = model_evaluation[MODEL]["all"][PRIMARY_METRIC]
    baseline = model_evaluation[REFERENCE_BASELINE]["all"][PRIMARY_METRIC]
    return dg.AssetCheckResult(
        passed=bool(model_evaluation["beats_baseline"]),
        metadata={
            PRIMARY_METRIC: dg.MetadataValue.float(model),
            f"{PRIMARY_METRIC}__baseline_{REFERENCE_BASELINE}": dg.MetadataValue.float(baseline),
            "lift": dg.MetadataValue.float(model / baseline if baseline else float("nan")),
        },
        description=f"{PRIMARY_METRIC}: model {model:.4f} vs role popularity {baseline:.4f}",
    )
