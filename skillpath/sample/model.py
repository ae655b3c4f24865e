"""How people respond to learning content: the latent truth's response functions.

One model serves both the simulation (what happened) and the truth API (what would
happen), so an evaluation against the truth measures exactly the world the history was
drawn from. Every effect is smooth — level fit, format fit, propensity, length — so a
recommender has to learn a gradient, not find a threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import expit, logit, ndtr

from skillpath.vocabulary import CONTENT_FORMATS

FORMATS = CONTENT_FORMATS
# formats that end with a scored assessment (passed/failed with a score)
ASSESSED = np.array([f in {"course", "interactive", "microlearning"} for f in FORMATS])
MAX_TAUGHT = 3  # skills per content item: one primary, up to two secondary


@dataclass(frozen=True)
class BehaviourModel:
    intercept: float = 1.2
    easy_curvature: float = 0.9  # boredom: content below one's level loses people
    hard_curvature: float = 0.45  # overload: content far above loses them more slowly
    propensity_weight: float = 0.8
    format_weight: float = 0.9
    quality_weight: float = 0.4
    duration_weight: float = 0.35
    mandatory_boost: float = 2.5
    score_slope: float = 1.4
    score_offset: float = 0.85
    score_noise: float = 0.8
    pass_mark: int = 70  # raw score out of 100
    learn_rate: float = 0.3
    overshoot: float = 0.3  # content at level L lifts a learner a little beyond L
    absorb_width: float = 1.5  # how far above one's level content still sinks in
    fail_gain_factor: float = 0.5

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @staticmethod
    def level_gap(held: np.ndarray, taught: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Weighted levels the content sits above the learner (1 = one level up, the
        sweet spot); content that teaches no known skill counts as a good fit."""
        total = weight.sum(axis=1)
        gap = (weight * (taught - held)).sum(axis=1) / np.where(total > 0, total, 1.0)
        return np.where(total > 0, gap, 1.0)

    def completion_logit(
        self,
        gap: np.ndarray,
        propensity: np.ndarray,
        format_pref: np.ndarray,
        quality: np.ndarray,
        duration: np.ndarray,
        mandatory: np.ndarray | bool = False,
    ) -> np.ndarray:
        off = gap - 1.0
        fit = -np.where(off < 0, self.easy_curvature, self.hard_curvature) * off * off
        return (
            self.intercept
            + fit
            + self.propensity_weight * np.log(propensity)
            + self.format_weight * format_pref
            + self.quality_weight * quality
            - self.duration_weight * np.log(duration / 30.0)
            + self.mandatory_boost * np.asarray(mandatory, dtype=float)
        )

    def score_mean(self, gap: np.ndarray, propensity: np.ndarray) -> np.ndarray:
        """Mean of the logit-scale test score; the raw score is 100·expit(mean + noise)."""
        return self.score_slope * (1.5 - gap) + 0.3 * np.log(propensity) + self.score_offset

    def raw_score(self, gap, propensity, noise: np.ndarray) -> np.ndarray:
        z = self.score_mean(gap, propensity) + self.score_noise * noise
        return np.rint(100 * expit(z)).astype(np.int16)

    def p_pass(self, gap: np.ndarray, propensity: np.ndarray) -> np.ndarray:
        threshold = logit((self.pass_mark - 0.5) / 100)
        return ndtr((self.score_mean(gap, propensity) - threshold) / self.score_noise)

    def gains(
        self,
        held: np.ndarray,
        taught: np.ndarray,
        weight: np.ndarray,
        duration: np.ndarray,
        factor: np.ndarray,
    ) -> np.ndarray:
        """Skill levels gained per taught skill by finishing the content: towards the
        level taught, less when it is far above the learner, more for longer content;
        ``factor`` scales for failing the assessment."""
        headroom = np.maximum(taught + self.overshoot - held, 0.0)
        beyond = np.maximum(taught - held - self.absorb_width, 0.0)
        absorbed = np.exp(-0.5 * beyond * beyond)
        length = np.clip(np.sqrt(duration / 60.0), 0.15, 1.5)
        return self.learn_rate * headroom * absorbed * weight * (length * factor)[:, None]

    def expected(
        self,
        held: np.ndarray,
        taught: np.ndarray,
        weight: np.ndarray,
        format_idx: np.ndarray,
        format_pref: np.ndarray,
        propensity: np.ndarray,
        quality: np.ndarray,
        duration: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p_complete, p_pass, expected skill levels gained) of a voluntary start."""
        gap = self.level_gap(held, taught, weight)
        p_complete = expit(self.completion_logit(gap, propensity, format_pref, quality, duration))
        assessed = ASSESSED[format_idx]
        p_pass = np.where(assessed, self.p_pass(gap, propensity), np.nan)
        factor = np.where(assessed, p_pass + (1 - p_pass) * self.fail_gain_factor, 1.0)
        gain = self.gains(held, taught, weight, duration, factor).sum(axis=1)
        return p_complete, p_pass, p_complete * gain
