"""Asset checks of the recommender.

The model's published lists must not be below popularity on the hold-out (the rule of
``ml.verdict``, with the model-quality gate's settings): a failure is an ERROR here and
blocks at the publication's model-quality gate (``skillpath.publish.gates``), which runs
downstream so that the blocked publication is recorded with its reasons instead of being
silently skipped. Below popularity within the interval, below a popularity baseline's raw
top 10 (the ranking rules cost more than the model's lead), or no model to check (too
little data: publishing goes ahead with role paths), warns.
"""

import dagster as dg

from ml.runs import EvaluationOutcome
from ml.verdict import OK, WORSE, below_raw_popularity, compare_with_popularity
from orchestration.resources import SkillpathResource
from skillpath.publish.gates import model_quality_gate


@dg.asset_check(asset="model_evaluation")
def published_lists_not_below_popularity(
    skillpath: SkillpathResource, model_evaluation: EvaluationOutcome
) -> dg.AssetCheckResult:
    evaluation = model_evaluation.evaluation
    if evaluation is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"no model to check: {model_evaluation.skipped}; "
            "recommendations fall back to role paths",
        )
    rule = model_quality_gate(skillpath.settings().config).rule
    comparisons = compare_with_popularity(evaluation.gate, rule)
    verdicts = {c.verdict for c in comparisons}
    rule_cost = below_raw_popularity(evaluation.gate, rule.metrics)
    said = [f"[{c.verdict}] {c.sentence()}" for c in comparisons]
    if rule_cost:
        said.append(f"[below raw popularity] {'; '.join(rule_cost)}")
    return dg.AssetCheckResult(
        passed=verdicts == {OK} and not rule_cost,
        severity=dg.AssetCheckSeverity.ERROR if WORSE in verdicts else dg.AssetCheckSeverity.WARN,
        metadata={
            "protocol": evaluation.gate_protocol,
            **{
                f"{c.metric}.{field}": dg.MetadataValue.float(getattr(c, field))
                for c in comparisons
                for field in ("model", "baseline_value", "difference", "low", "high")
            },
            **{f"{c.metric}.verdict": c.verdict for c in comparisons},
            **{f"{c.metric}.baseline": c.baseline for c in comparisons},
        },
        description="; ".join(said),
    )
