"""Fitting the recommender: LightFM on features, EASE item-item weights, and the blend,
with the epochs, λ and blend weights chosen on validation persons.

Determinism: LightFM draws its initial weights and its SGD sampling from
``random_state``; with ``num_threads=1`` two fits with the same seed and data give
identical weights (tested). With more threads the Hogwild updates race, so results vary
slightly between runs: use one thread when a run must be reproduced exactly. EASE is a
closed form (no randomness); the validation persons are drawn with ``seed``.

Validation by persons, not by weeks (``ml.validation``): each validation person's
latest share of positives is held back, everything else trains, and features are as of
each person's own cut.

What validation decides (``Recipe``): the LightFM epochs (best NDCG@k of LightFM alone,
stopping ``patience`` epochs after the best, never before ``min_epochs``), EASE's λ (best
NDCG@k of item-item alone over ``ml.itemitem.L2_SCALES``) and the blend weights (the grid
point with the best NDCG@k on those scores). The recipe is then used to refit from
scratch on the whole training period. When fewer than ``validation.min_persons`` qualify,
or no approach finds a single validation positive, validation cannot decide: the run
logs a warning, fits ``validation.fallback_epochs`` epochs, the fallback λ and
``FALLBACK_BLEND``, and says so in ``Recipe.fallback`` (the model parameter
``validation_fallback``, which the model-quality gate reports as a warning). Nothing is
ever chosen on the evaluation hold-out (ml.evaluate).

Why one module of over 400 lines: the recipe (epochs, L2, blend) is chosen on
validation inside the fit, so the problem, the validation and the fit change together;
the item-item part, features and validation split already live in their own modules.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from lightfm import LightFM

from ml.data import Marts
from ml.dataset import as_of, build_interactions, mandatory_content, to_matrix
from ml.features import FeatureConfig, FeatureSpace
from ml.itemitem import L2_SCALES, ItemItem, gram, item_columns, l2_grid, solve_path
from ml.metrics import hits, ndcg_at_k, top_k
from ml.model import (
    BLEND_SIGNALS,
    LIGHTFM_ONLY,
    ContentSignals,
    Recommender,
    Representations,
    blend,
    score_matrix,
    standardise,
)
from ml.validation import ValidationConfig, validation_split

log = logging.getLogger(__name__)


class InsufficientData(ValueError):
    """Too little history to learn from; callers fall back to rules (role paths).
    ``figures``: what the training saw and needed, so whoever reports the fallback (the
    publication's gate, MLflow) reports the same numbers."""

    def __init__(self, message: str, figures: dict[str, int] | None = None) -> None:
        super().__init__(message)
        self.figures = dict(figures or {})


@dataclass(frozen=True)
class NoModel:
    """What stands for the model when the history was too thin to train one: why, and
    the figures the training saw (``InsufficientData.figures``). Publishing falls back
    to role paths and its model-quality gate says so, with these figures."""

    reason: str
    figures: dict[str, int]


@dataclass(frozen=True)
class TrainConfig:
    loss: Literal["warp", "bpr", "logistic", "warp-kos"] = "warp"
    no_components: int = 32
    learning_rate: float = 0.2  # chosen on validation NDCG (1k and 10k sample organisations)
    epochs: int = 100  # the most epochs; early stopping usually stops sooner
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 10
    # sample weights halve every this many weeks before the end of the history; None: off
    recency_half_life_weeks: float | None = 13.0
    num_threads: int = 2  # 1 to reproduce weights exactly (module docstring)
    seed: int = 42
    patience: int = 5
    min_epochs: int = 5
    itemitem_max_items: int = 8000  # EASE is dense in items: the most-taken ones are learned
    blend_step: float = 0.1  # grid of the blend weights; 0: LightFM alone
    k: int = 10
    min_interactions: int = 200
    min_persons: int = 20
    features: FeatureConfig = field(default_factory=FeatureConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)

    def as_params(self) -> dict[str, object]:
        """Flat parameters for MLflow (sections prefixed: ``features.``, ``validation.``)."""
        sections = ("features", "validation")
        params = {k: v for k, v in asdict(self).items() if k not in sections}
        for name in sections:
            params.update({f"{name}.{k}": v for k, v in asdict(getattr(self, name)).items()})
        return params


def check_enough(history: pd.DataFrame, config: TrainConfig) -> None:
    positives = history[history["weight"] > 0]
    persons = positives["person_key"].nunique()
    if len(positives) < config.min_interactions or persons < config.min_persons:
        raise InsufficientData(
            f"too little history to train: {len(positives)} positive interactions from "
            f"{persons} persons (need at least {config.min_interactions} from "
            f"{config.min_persons}); recommendations fall back to role paths",
            {
                "positive_interactions": len(positives),
                "persons": int(persons),
                "min_interactions": config.min_interactions,
                "min_persons": config.min_persons,
            },
        )


def _new_model(config: TrainConfig) -> LightFM:
    return LightFM(
        no_components=config.no_components,
        loss=config.loss,
        learning_rate=config.learning_rate,
        item_alpha=config.item_alpha,
        user_alpha=config.user_alpha,
        max_sampled=config.max_sampled,
        random_state=np.random.RandomState(config.seed),
    )


def recency_weighted(history: pd.DataFrame, half_life_weeks: float | None) -> pd.DataFrame:
    """``weight`` × ``0.5 ** (age / half_life_weeks)``, age measured from ``first_event_at``
    to the latest start in ``history`` (the cutoff): what people took lately says more
    about what they take next than what they took a year ago (interests, roles and the
    catalogue move). None: unchanged."""
    if not half_life_weeks or history.empty:
        return history
    started = pd.to_datetime(history["first_event_at"])
    age = (started.max() - started).dt.total_seconds().to_numpy() / (7 * 24 * 3600)
    decay = np.power(0.5, age / half_life_weeks)
    return history.assign(weight=history["weight"].to_numpy(dtype=np.float64) * decay)


@dataclass(frozen=True)
class _Problem:
    """Matrices of one fit: persons × items interactions and both feature matrices."""

    persons: pd.Index
    items: pd.Index
    user_features: object
    item_features: object
    interactions: object
    weights: object

    @classmethod
    def build(
        cls,
        space: FeatureSpace,
        marts: Marts,
        history: pd.DataFrame,
        items: pd.Index,
        half_life_weeks: float | None,
    ) -> _Problem:
        persons = pd.Index(
            marts.employees.loc[~marts.employees["opted_out"].astype(bool), "person_key"].astype(
                str
            ),
            dtype=object,
        )
        positives = recency_weighted(history[history["weight"] > 0], half_life_weeks)
        weights = to_matrix(positives, persons, items, "weight").tocoo()
        ones = weights.copy()
        ones.data = np.ones_like(ones.data)
        return cls(
            persons=persons,
            items=items,
            user_features=space.user_matrix(marts, history, persons),
            item_features=space.item_matrix(marts, items),
            interactions=ones,
            weights=weights,
        )

    def fit_epoch(self, model: LightFM, config: TrainConfig) -> None:
        model.fit_partial(
            self.interactions,
            user_features=self.user_features,
            item_features=self.item_features,
            sample_weight=self.weights if config.loss != "warp-kos" else None,
            epochs=1,
            num_threads=config.num_threads,
        )


# the blend when validation cannot fit one: with nothing to choose on, no signal is
# preferred (ml/README.md, "Validation by persons", has the figures)
FALLBACK_BLEND = {"lightfm": 0.25, "itemitem": 0.25, "gap": 0.25, "role": 0.25}


@dataclass(frozen=True)
class Recipe:
    """What validation decides: LightFM epochs, EASE's λ as a multiple of the mean takers
    per item (``ml.itemitem.l2_grid``: the same multiple suits the evaluation's history
    and the production's larger one; None: the fallback) and the blend weights
    (ml.model); ``fallback`` says why validation could not decide them (empty: it did)."""

    epochs: int
    weights: dict[str, float]
    itemitem_l2_scale: float | None = None
    curve: tuple[float, ...] = ()  # validation NDCG@k of LightFM alone, per epoch
    blend_ndcg: float = float("nan")  # validation NDCG@k of the chosen blend
    persons: int = 0  # validation persons
    fallback: str = ""

    @classmethod
    def fallback_for(cls, config: TrainConfig, reason: str, persons: int = 0) -> Recipe:
        log.warning(
            "validation cannot decide (%s): %d LightFM epochs, default item-item λ and "
            "blend %s are used instead; the run is flagged (validation_fallback)",
            reason,
            config.validation.fallback_epochs,
            FALLBACK_BLEND,
        )
        epochs = config.validation.fallback_epochs
        return cls(epochs, dict(FALLBACK_BLEND), persons=persons, fallback=reason)


def _simplex(step: float) -> list[dict[str, float]]:
    """Every weighting of the blend signals on a grid of ``step``, in lexicographic order
    of ``BLEND_SIGNALS`` from the heaviest (so on a tie LightFM, then item-item, win)."""
    n = round(1 / step)

    def spread(total: int, names: tuple[str, ...]) -> list[dict[str, int]]:
        if len(names) == 1:
            return [{names[0]: total}]
        return [
            {names[0]: i, **rest}
            for i in range(total, -1, -1)
            for rest in spread(total - i, names[1:])
        ]

    return [{k: v / n for k, v in w.items()} for w in spread(n, BLEND_SIGNALS)]


def _ndcg(scores: np.ndarray, positives, exclude, k: int) -> float:
    top = top_k(scores, k, exclude)
    return float(ndcg_at_k(hits(top, positives), np.asarray(positives.getnnz(axis=1))).mean())


def _validate(
    space: FeatureSpace,
    marts: Marts,
    history: pd.DataFrame,
    items: pd.Index,
    mandatory: pd.Index,
    config: TrainConfig,
) -> Recipe:
    """Epochs, λ and blend weights chosen on validation persons (module docstring), or the
    flagged fallback when validation cannot decide.

    Same protocol as the per-person hold-out (ml.evaluate), one level down: every
    candidate list excludes what the person touched before their cut and the mandatory
    content; features are as of each person's cut.
    """
    if history.empty:
        return Recipe.fallback_for(config, "no history to validate on")
    split = validation_split(history, config.validation, config.seed)
    persons = pd.Index(sorted(set(split.holdout["person_key"].astype(str))), dtype=object)
    if len(persons) < config.validation.min_persons:
        return Recipe.fallback_for(
            config,
            f"{len(persons)} validation persons with at least "
            f"{config.validation.min_positives} positives (need "
            f"{config.validation.min_persons})",
            len(persons),
        )
    past = as_of(marts, split.cutoffs)
    problem = _Problem.build(space, past, split.history, items, config.recency_half_life_weeks)
    positives = to_matrix(split.holdout, persons, items)
    exclude = to_matrix(split.history, persons, items).tolil()
    exclude[:, items.get_indexer(mandatory)] = 1.0
    exclude = exclude.tocsr()
    user_features = problem.user_features[problem.persons.get_indexer(persons)]
    model = _new_model(config)
    curve: list[float] = []
    best, best_epoch, best_scores = -1.0, 0, None
    for epoch in range(1, config.epochs + 1):
        problem.fit_epoch(model, config)
        scores = score_matrix(
            Representations.of_users(model, user_features),
            Representations.of_items(model, problem.item_features),
        )
        curve.append(_ndcg(scores, positives, exclude, config.k))
        if curve[-1] > best:
            best, best_epoch, best_scores = curve[-1], epoch, scores
        elif epoch >= config.min_epochs and epoch - best_epoch >= config.patience:
            break
    l2_scale, itemitem_scores, itemitem_ndcg = choose_l2(
        split.history, persons, items, positives, exclude, config
    )
    parts = {"lightfm": standardise(best_scores), "itemitem": standardise(itemitem_scores)}
    signals = ContentSignals.of(past, split.history, persons, items)
    rules = signals.rows(np.arange(len(persons)), np.zeros(len(persons), bool))
    parts.update({n: standardise(rules[n]) for n in ("gap", "role")})
    if max(best, itemitem_ndcg) <= 0:
        return Recipe.fallback_for(
            config, f"no validation positive ranked in the top {config.k}", len(persons)
        )
    weights, blend_ndcg = dict(LIGHTFM_ONLY), best
    if config.blend_step:
        for candidate in _simplex(config.blend_step):
            value = _ndcg(blend(candidate, parts, standardised=True), positives, exclude, config.k)
            if value > blend_ndcg + 1e-9:
                weights, blend_ndcg = candidate, value
    return Recipe(best_epoch, weights, l2_scale, tuple(curve), blend_ndcg, len(persons))


def choose_l2(
    history: pd.DataFrame,
    persons: pd.Index,
    items: pd.Index,
    positives,
    exclude,
    config: TrainConfig,
) -> tuple[float, np.ndarray, float]:
    """EASE's λ scale with the best validation NDCG@k over the grid, its scores and NDCG."""
    columns = item_columns(history, config.itemitem_max_items)
    g = gram(history, columns)
    best = (float("nan"), np.zeros(positives.shape, np.float32), -1.0)
    grid = dict(zip(l2_grid(g, L2_SCALES), L2_SCALES, strict=True))
    for l2, weights in solve_path(g, list(grid)):
        model = ItemItem(columns, weights, l2)
        scores = np.asarray(model.history(history, persons) @ model.aligned(items), np.float32)
        value = _ndcg(scores, positives, exclude, config.k)
        if value > best[2] + 1e-9:
            best = (grid[l2], scores, value)
    return best


def train(
    marts: Marts, history: pd.DataFrame, config: TrainConfig, recipe: Recipe | None = None
) -> Recommender:
    """Fit on ``history`` (interactions before some cutoff; see ml.dataset) with the
    features of ``marts`` (which must not know more than the cutoff), bound to ``marts``.

    Mandatory content (ml.dataset.mandatory_content) is left out: it is not a choice, so
    it teaches nothing about preferences, and it is never a candidate. Without ``recipe``
    the epochs, λ and blend weights are chosen on validation persons of ``history``
    (``_validate``); with one (e.g. the evaluated run's), they are reused as they are.
    The model stores no per-person parameter (ml.model): persons are bound afterwards.
    """
    check_enough(history, config)
    mandatory = mandatory_content(marts.content)
    history = history[~history["content_id"].isin(mandatory)]
    space = FeatureSpace.fit(marts, history, config.features)
    items = pd.Index(marts.content["content_id"].astype(str), dtype=object)
    if recipe is None:
        recipe = _validate(space, marts, history, items, mandatory, config)
    itemitem = ItemItem.fit(history, recipe.itemitem_l2_scale, config.itemitem_max_items)
    problem = _Problem.build(space, marts, history, items, config.recency_half_life_weeks)
    model = _new_model(config)
    for _ in range(recipe.epochs):
        problem.fit_epoch(model, config)
    log.info(
        "trained %d epochs and item-item on %d items (λ %.1f) on %d interactions "
        "(%d mandatory items left out); blend %s",
        recipe.epochs,
        len(itemitem.items),
        itemitem.l2,
        problem.interactions.nnz,
        len(mandatory),
        recipe.weights,
    )
    params = {
        **config.as_params(),
        "epochs_trained": recipe.epochs,
        "validation_curve": list(recipe.curve),
        "validation_ndcg_blend": recipe.blend_ndcg,
        "validation_persons": recipe.persons,
        "validation_fallback": recipe.fallback,
        "itemitem_l2_scale": recipe.itemitem_l2_scale,
        "itemitem_l2": itemitem.l2,
        "itemitem_items": len(itemitem.items),
        **{f"blend_{name}": w for name, w in recipe.weights.items()},
        "mandatory_items": len(mandatory),
        "n_interactions": int(problem.interactions.nnz),
        "n_persons": len(problem.persons),
        "n_items": len(items),
        "n_user_features": len(space.user_vocab),
        "n_item_features": len(space.item_vocab),
    }
    return Recommender(
        model=model,
        features=space,
        params=params,
        weights=recipe.weights,
        itemitem=itemitem,
    ).bind(marts, history)


def recipe_of(model: Recommender) -> Recipe:
    """The recipe a trained model was fitted with, to fit another one the same way (the
    validation figures and the fallback flag travel with it: a production model fitted
    with the recipe is exactly as validated as the evaluated one)."""
    return Recipe(
        int(model.params["epochs_trained"]),
        dict(model.weights),
        model.params.get("itemitem_l2_scale"),
        curve=tuple(model.params.get("validation_curve", ())),
        blend_ndcg=float(model.params.get("validation_ndcg_blend", float("nan"))),
        persons=int(model.params.get("validation_persons", 0)),
        fallback=str(model.params.get("validation_fallback", "")),
    )


def train_on_all(marts: Marts, config: TrainConfig, recipe: Recipe | None = None) -> Recommender:
    """The production model: every consenting person's history, bound to ``marts``."""
    return train(marts, build_interactions(marts), config, recipe)
