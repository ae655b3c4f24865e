"""Assets of the publishing stage (group ``publishing``): thin wiring around
``ml.ranking`` and ``skillpath.publish``.

``candidate_recommendations`` ranks for every active employee from the same marts
snapshot the model was trained on; ``publication`` writes it under a new id (with each
personalised person's role path beside it, served instead should they opt out before
the next publication: ``skillpath.publish.overlay``), runs the gates, makes it current
only when they all pass, and renders the compliance report a reviewer reads (also for a
blocked publication: it says why). The gates are also surfaced as blocking asset checks
(``orchestration/checks/publish.py``).
"""

import dagster as dg
import pandas as pd

from ml.data import Marts
from ml.ranking import RankingConfig, recommend
from ml.runs import EvaluationOutcome
from ml.train import NoModel
from orchestration.resources import SkillpathResource
from skillpath.publish.publication import pipeline_candidate, publish
from skillpath.reports.compliance import write_publication_report

GROUP = "publishing"


@dg.asset(group_name=GROUP)
def candidate_recommendations(
    context: dg.AssetExecutionContext,
    skillpath: SkillpathResource,
    training_dataset: Marts,
    recommender_model,
) -> pd.DataFrame:
    """Top 10 per active employee with reasons; the role path for persons who opted out,
    and for everyone when no model could be trained. With ``fairness.mitigation`` on, the
    top ``fairness.mitigation_candidates`` instead: the publication re-ranks them for
    exposure and keeps 10 (docs/fairness.md, "Mitigation")."""
    model = None if isinstance(recommender_model, NoModel) else recommender_model
    fairness = skillpath.settings().config.fairness
    config = RankingConfig()
    if fairness.mitigation:
        config = RankingConfig(k=max(config.k, fairness.mitigation_candidates))
    recs = recommend(training_dataset, model, config)
    personalised = recs.loc[recs["personalised"], "person_key"].nunique()
    context.add_output_metadata(
        {
            "persons": int(recs["person_key"].nunique()),
            "recommendations": len(recs),
            "persons_personalised": int(personalised),
            "model": "none: role path for everyone" if model is None else "trained",
            "per person": config.k,
        }
    )
    return recs


@dg.asset(group_name=GROUP)
def publication(
    context: dg.AssetExecutionContext,
    skillpath: SkillpathResource,
    training_dataset: Marts,
    candidate_recommendations: pd.DataFrame,
    recommender_model,
    model_evaluation: EvaluationOutcome,
) -> dict:
    """``published`` / ``blocked`` are both successful materialisations (a blocked
    publication is a decision, recorded with its reasons); a crash fails the asset and
    leaves the current publication untouched."""
    settings = skillpath.settings()
    no_model = recommender_model if isinstance(recommender_model, NoModel) else None
    candidate = pipeline_candidate(
        candidate_recommendations,
        getattr(recommender_model, "run_id", None),
        model_evaluation,
        settings.mlflow_tracking_uri,
        context.run_id,
        fallback=(no_model.reason, no_model.figures) if no_model else None,
        role_paths=recommend(training_dataset, None, RankingConfig()),
    )
    result = publish(settings, candidate)
    report = write_publication_report(settings, result.publication_id)
    for warning in result.warnings:
        context.log.warning(warning)
    context.add_output_metadata(
        {
            "publication_id": result.publication_id,
            "status": result.status,
            "message": result.message,
            "model_version": candidate.model_version or "none",
            "champion": result.champion,
            "report": dg.MetadataValue.path(str(report)),
            **{
                f"gate_{g.name}": dg.MetadataValue.json(
                    {"status": g.status, "message": g.message, **g.figures}
                )
                for g in result.gates
            },
        }
    )
    return result.as_dict()
