"""What a training run's parameters mean, for the people who read them in MLflow.

A parameter nobody can interpret is noise in the compare view, and an empty one
(``validation_persons=0``, ``validation_ndcg_blend=nan``) reads like a bug. So every
parameter of ``Recommender.params`` is sorted here: a setting or a choice of the recipe
is logged as a parameter with its meaning (``params.md`` beside the model); a size or a
validation figure is a metric; an empty value is not logged, and ``params.md`` says why.
A parameter without an entry in ``MEANINGS`` is still logged but marked undocumented (a
test keeps that list empty).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ml.model import BLEND_SIGNALS

UNDOCUMENTED = "(undocumented: add it to ml/params.py MEANINGS)"

MEANINGS: dict[str, str] = {
    "loss": "LightFM's loss; warp optimises the top of each list",
    "no_components": "LightFM's embedding size (latent dimensions)",
    "learning_rate": "LightFM's step size (adagrad)",
    "epochs": "most LightFM epochs validation may choose (early stopping stops sooner)",
    "item_alpha": "L2 penalty on item feature embeddings",
    "user_alpha": "L2 penalty on person feature embeddings",
    "max_sampled": "negatives WARP samples per positive before giving up",
    "recency_half_life_weeks": "interaction weights halve every this many weeks before "
    "the end of the history",
    "num_threads": "LightFM threads (1 reproduces weights exactly)",
    "seed": "random seed of LightFM and of the validation draw",
    "patience": "epochs without a validation gain before early stopping",
    "min_epochs": "epochs always trained before early stopping may stop",
    "itemitem_max_items": "most-taken items the item-item (EASE) signal learns",
    "blend_step": "grid step of the blend weights validation searches",
    "k": "list length validation and evaluation judge (NDCG@k)",
    "min_interactions": "fewer positive interactions: nothing is trained (role paths)",
    "min_persons": "fewer persons with positives: nothing is trained (role paths)",
    "features.history": "whether the items a person did are person features",
    "features.history_weight": "total weight of the history features per person",
    "features.skill_weight": "total weight of the skill features per person",
    "features.gap_weight": "total weight of the skill-gap features per person",
    "features.min_confidence": "floor of a skill's confidence as a feature weight",
    "validation.share": "each validation person's latest share of positives held back",
    "validation.min_positives": "positives a person needs to be a validation person",
    "validation.max_persons": "most validation persons (drawn with the seed)",
    "validation.min_persons": "fewer validation persons: the fallback recipe is used",
    "validation.fallback_epochs": "LightFM epochs when validation cannot decide",
    "epochs_trained": "LightFM epochs of the recipe (chosen on validation)",
    "itemitem_l2_scale": "item-item λ as a multiple of the mean takers per item "
    "(chosen on validation)",
    "itemitem_l2": "item-item λ this fit used (the scale times this history's mean takers)",
    "validation_fallback": "why validation could not decide the recipe (the run is flagged)",
    **{
        f"blend_{name}": f"weight of the {name} signal in the published score "
        "(chosen on validation)"
        for name in BLEND_SIGNALS
    },
}
# figures, not settings: metric name in the run
AS_METRICS = {
    "validation_persons": "validation/persons",
    "validation_ndcg_blend": "validation/blend_ndcg_at_10",
    "itemitem_items": "dataset/itemitem_items",
    "mandatory_items": "dataset/mandatory_items",
}
# logged elsewhere: the curve as a stepped metric, the sizes as dataset/… metrics
ELSEWHERE = {
    "validation_curve",
    "n_interactions",
    "n_persons",
    "n_items",
    "n_user_features",
    "n_item_features",
}
# why an empty value is not logged
WHY_EMPTY = {
    "recency_half_life_weeks": "no recency weighting: every interaction counts the same",
    "validation_fallback": "validation decided the recipe (no fallback)",
    "itemitem_l2_scale": "validation could not decide λ: the default was used",
    "validation_ndcg_blend": "no validation persons, so no validation figure of the blend",
}


@dataclass(frozen=True)
class ExplainedParams:
    params: dict[str, object]  # to log as parameters
    metrics: dict[str, float]  # to log as metrics
    markdown: str  # params.md
    recipe: str  # one sentence: where the recipe comes from


def _empty(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def explain_params(params: Mapping[str, object], recipe_from: str = "") -> ExplainedParams:
    """Sort ``Recommender.params`` into parameters, metrics and the reasons for what is
    left out. ``recipe_from``: where the recipe was chosen when not in this fit (e.g. the
    evaluation's validation), so that the figures of that validation are not mistaken for
    this fit's."""
    logged: dict[str, object] = {}
    metrics: dict[str, float] = {}
    left_out: dict[str, str] = {}
    for name, value in params.items():
        if name in ELSEWHERE:
            continue
        if _empty(value):
            left_out[name] = WHY_EMPTY.get(name, "empty")
        elif name in AS_METRICS:
            metrics[AS_METRICS[name]] = float(value)  # type: ignore[arg-type]
        else:
            logged[name] = value
    persons = int(params.get("validation_persons", 0) or 0)  # type: ignore[call-overload]
    fallback = params.get("validation_fallback") or ""
    where = recipe_from or "this fit's own history"
    if fallback:
        recipe = f"fallback recipe: validation on {where} could not decide ({fallback})"
    else:
        recipe = f"recipe chosen on {persons:,} validation persons of {where}"
    lines = [
        "# Parameters of this run",
        "",
        f"The recipe (epochs, item-item λ, blend weights): {recipe}.",
        "",
        "| parameter | value | meaning |",
        "|---|---|---|",
        *(f"| `{k}` | {v} | {MEANINGS.get(k, UNDOCUMENTED)} |" for k, v in logged.items()),
        "",
        "## Figures logged as metrics",
        "",
        *(f"- `{AS_METRICS[k]}` ({k})" for k in AS_METRICS if AS_METRICS[k] in metrics),
        "- `validation/lightfm_ndcg_at_10`, by epoch: the validation curve that chose the epochs",
        "- `dataset/…`: persons, items, interactions and features of the fit",
    ]
    if left_out:
        lines += ["", "## Not logged", ""]
        lines += [f"- `{k}`: {why}" for k, why in left_out.items()]
    return ExplainedParams(logged, metrics, "\n".join(lines) + "\n", recipe)
