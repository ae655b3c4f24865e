"""Robustness regimes: the sample organisation under conditions that real exports bring
and the default organisation does not, so that no rule or default is tuned to one
organisation we wrote (``skillpath sample --regime NAME``).

A regime is a handful of knobs; each is read where the thing it changes is made —
which files are exported (``generate.py``), the catalogue's size (``catalog.py``), what
"everyone is taking" (``choice.py``), binges and dormancy (``simulate.py``). The
default regime changes nothing, and the random draws a regime needs come from streams of
their own, so the default organisation stays byte for byte what it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Regime:
    name: str
    summary: str
    # skills/skills.csv, hr/role_skill_requirements.csv, lms/content_skills.csv and
    # lms/prerequisites.csv are exported
    taxonomy: bool = True
    surveys: bool = True  # surveys/*.csv are exported
    # catalogue size, mandatory items included (None: grows with the headcount)
    catalog_items: int | None = None
    # Zipf exponent of what "everyone is taking" (None: by appeal, a light tail)
    popularity_tail: float | None = None
    # share of the picks that do not chase a perceived gap going to what everyone is
    # taking (None: choice.py's default)
    popular_habit: float | None = None
    binge_share: float = 0.0  # persons who learn in binges: a month's picks on one day
    binge_rate: float = 1.0  # their voluntary starts, times the usual rate
    dormant_share: float = 0.0  # persons with a long spell without any learning
    dormant_window_share: float = 0.5  # the spell is at least this share of the window

    def as_dict(self) -> dict:
        return asdict(self)


REGIMES: dict[str, Regime] = {
    r.name: r
    for r in (
        Regime("default", "every export, a catalogue that grows with the headcount"),
        Regime(
            "no-taxonomy",
            "only HR, the catalogue and statements: no skills taxonomy, role requirements, "
            "content skills, prerequisites or surveys",
            taxonomy=False,
            surveys=False,
        ),
        Regime(
            "heavy-tail",
            "heavy-tailed popularity: a few chosen (not mandatory) items reach most people",
            popularity_tail=1.3,
            popular_habit=0.85,
        ),
        Regime(
            "binge",
            "a third of the people learn in binges: many items on one day a month",
            binge_share=0.35,
            binge_rate=6.0,
        ),
        Regime("small-catalog", "a small catalogue of 80 items", catalog_items=80),
        Regime("large-catalog", "a large catalogue of 6,000 items", catalog_items=6000),
        Regime(
            "dormant",
            "a quarter of the people stop learning for half the window or more "
            "(leave, project crunch); half of them come back before its end",
            dormant_share=0.25,
        ),
    )
}
DEFAULT = "default"


def zipf_popularity(weights: np.ndarray, eligible: np.ndarray, exponent: float) -> np.ndarray:
    """Popularity by rank: the eligible items in order of ``weights`` get 1, 2^-s, 3^-s…;
    the others keep a weight below the last eligible one (zero stays zero)."""
    order = np.lexsort((-weights, ~(eligible & (weights > 0))))
    out = np.empty_like(weights, dtype=float)
    out[order] = np.arange(1, len(weights) + 1, dtype=float) ** -exponent
    return np.where(weights > 0, out, 0.0)


def dormant_spells(
    regime: Regime, months: int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(first month, first month after) of each person's spell without learning; an
    empty spell (0, 0) for those who have none. Spells start in the first third of the
    window and last at least ``dormant_window_share`` of it; half run to its end."""
    dormant = rng.random(n) < regime.dormant_share
    shortest = max(int(np.ceil(regime.dormant_window_share * months)), 1)
    start = rng.integers(min(1, months - 1), max(months // 3, 1), n, endpoint=True)
    start = np.minimum(start, max(months - shortest, 0))
    back = start + shortest + rng.integers(0, max(months // 6, 1), n, endpoint=True)
    stop = np.where(rng.random(n) < 0.5, months, np.minimum(back, months))
    return np.where(dormant, start, 0), np.where(dormant, stop, 0)
