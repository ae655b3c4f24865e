"""Are the published lists below popularity? The decision rule of the model-quality gate.

Per metric (``QualityRule.metrics``), on the published lists of the evaluated persons:
the model's mean minus the best of global and role popularity, with a paired bootstrap
interval over persons (``ml.metrics.paired_bootstrap``: the same persons drawn for every
approach, the better baseline chosen inside each resample).

- ``worse``: the whole interval lies below ``margin`` × the best baseline's mean — the
  lists are below popularity beyond what the choice of hold-out persons explains: block;
- ``below``: the point estimate is below that line but the interval reaches it — not
  shown to be worse, shown to the reviewer (a warning);
- ``ok``: the point estimate is at or above it.

Besides the rule, ``below_raw_popularity`` says where the published lists hit less than
a popularity baseline's raw top 10: the ranking rules (mastered content, prerequisites,
…) then cost more than the model's lead. A warning, never a block: the rule compares
like with like, and what a rule protects (no content the person already masters) is no
hold-out hit — but a reviewer must see that plain popularity would hit more.

Why an interval and not a bare ``>``: a hold-out of a few hundred persons moves a mean
by more than the difference between two reasonable recommenders, so a bare comparison
flips with the seed; the interval says when the difference is larger than that. The
rule is deterministic (its own seed), and so is the evaluation that feeds it (one
training thread), so the same landing always gets the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ml.evaluate import MODEL, PUBLISHED, RAW, ProtocolEvaluation
from ml.metrics import paired_bootstrap

POPULARITY = ("global_popularity", "role_popularity")
WORSE, BELOW, OK = "worse", "below", "ok"


@dataclass(frozen=True)
class QualityRule:
    """The values and their reasons: ``[model_quality]`` of skillpath's configuration."""

    margin: float  # relative to the best popularity baseline's mean
    confidence: float  # two-sided
    n_boot: int
    seed: int
    metrics: tuple[str, ...] = ("ndcg_at_10", "precision_at_10")

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise ValueError(f"QualityRule.confidence must be in (0, 1), got {self.confidence}")
        if self.n_boot < 100:
            raise ValueError(f"QualityRule.n_boot must be >= 100, got {self.n_boot}")


@dataclass(frozen=True)
class Comparison:
    metric: str
    model: float
    baseline: str  # the better popularity baseline on all evaluated persons
    baseline_value: float
    difference: float  # model − best baseline (the best chosen per resample in the interval)
    low: float
    high: float
    threshold: float  # margin × baseline_value: the line the model must not fall below
    persons: int

    @property
    def verdict(self) -> str:
        if self.high < self.threshold:
            return WORSE
        return BELOW if self.difference < self.threshold else OK

    def sentence(self) -> str:
        return (
            f"{self.metric}: model {self.model:.4f} vs {self.baseline} {self.baseline_value:.4f}"
            f" (difference {self.difference:+.4f}, interval {self.low:+.4f} … {self.high:+.4f},"
            f" {self.persons} persons)"
        )


def compare_with_popularity(evaluation: ProtocolEvaluation, rule: QualityRule) -> list[Comparison]:
    """One ``Comparison`` per metric of ``rule``, on ``evaluation``'s published lists."""
    out = []
    approaches = (MODEL, *POPULARITY)
    for metric in rule.metrics:
        figures = evaluation.person_figures(metric, approaches)
        model, baselines = figures[0], figures[1:]
        means = baselines.mean(axis=1)
        best = int(np.argmax(means))
        difference, low, high = paired_bootstrap(
            model, baselines, rule.n_boot, rule.confidence, rule.seed
        )
        out.append(
            Comparison(
                metric=metric,
                model=float(model.mean()),
                baseline=POPULARITY[best],
                baseline_value=float(means[best]),
                difference=difference,
                low=low,
                high=high,
                threshold=rule.margin * float(means[best]),
                persons=int(model.size),
            )
        )
    return out


def below_raw_popularity(evaluation: ProtocolEvaluation, metrics: tuple[str, ...]) -> list[str]:
    """One sentence per metric on which the model's published lists are below the better
    popularity baseline's raw top 10 (point estimates: a warning for the reviewer)."""
    out = []
    for metric in metrics:
        published = evaluation.value(metric, MODEL, PUBLISHED)
        raw = {name: evaluation.value(metric, name, RAW) for name in POPULARITY}
        best = max(raw, key=lambda name: raw[name])
        if published < raw[best]:
            out.append(
                f"{metric}: published lists {published:.4f} vs {best}'s raw top 10 {raw[best]:.4f}"
            )
    return out
