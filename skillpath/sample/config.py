"""What a sample organisation is generated from, and the calendar it lives in.

The window ends on a fixed date rather than today, so the same configuration always
produces the same bytes, whenever it is run.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date

import numpy as np

from skillpath.sample.regimes import DEFAULT, REGIMES, Regime

DEFAULT_END_DATE = date(2026, 10, 31)
# --inject-bias: which group of each attribute is steered away from advanced content
BIAS_ATTRIBUTES = ("gender", "age", "disability")
DEFAULT_BIAS_STRENGTH = 0.7


@dataclass(frozen=True)
class SampleConfig:
    employees: int = 1000
    seed: int = 42
    months: int = 12
    inject_bias: tuple[str, ...] = ()  # attributes whose group is steered (BIAS_ATTRIBUTES)
    bias_strength: float = DEFAULT_BIAS_STRENGTH  # probability a steered pick is replaced
    inject_defects: bool = False
    end_date: date = DEFAULT_END_DATE
    regime: str = DEFAULT  # a name of regimes.REGIMES

    def __post_init__(self) -> None:
        if self.employees < 20:
            raise ValueError(
                f"--employees must be at least 20 (got {self.employees}): an organisation "
                "needs managers, several departments and enough people per role"
            )
        if not 1 <= self.months <= 60:
            raise ValueError(f"--months must be between 1 and 60 (got {self.months})")
        if self.seed < 0:
            raise ValueError(f"--seed must be a non-negative integer (got {self.seed})")
        if self.regime not in REGIMES:
            raise ValueError(f"--regime must be one of {', '.join(REGIMES)} (got {self.regime!r})")
        unknown = sorted(set(self.inject_bias) - set(BIAS_ATTRIBUTES))
        if unknown:
            raise ValueError(
                f"--inject-bias: unknown attribute(s) {', '.join(unknown)} "
                f"(choose from {', '.join(BIAS_ATTRIBUTES)})"
            )
        if not 0.0 <= self.bias_strength <= 1.0:
            raise ValueError(f"--bias-strength must be between 0 and 1 (got {self.bias_strength})")

    @property
    def knobs(self) -> Regime:
        """What the regime changes (see regimes.py)."""
        return REGIMES[self.regime]

    @property
    def start_date(self) -> date:
        """First day of the first simulated calendar month."""
        first = np.datetime64(self.end_date, "M") - (self.months - 1)
        return first.astype("datetime64[D]").item()

    def month_starts(self) -> np.ndarray:
        """datetime64[D] start of each simulated month, plus the day after the window."""
        first = np.datetime64(self.start_date, "M")
        starts = (first + np.arange(self.months + 1)).astype("datetime64[D]")
        starts[-1] = np.datetime64(self.end_date, "D") + 1
        return starts

    def rng(self, stream: str) -> np.random.Generator:
        """An independent random stream per purpose, so that changing how one part
        draws (e.g. the bias option) does not reshuffle every other part."""
        return np.random.default_rng([self.seed, zlib.crc32(stream.encode())])
