"""The ranking's settings: which rules apply and how much each weighs."""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = ("video", "article", "course", "workshop", "podcast", "microlearning", "interactive")
MAX_LEVEL = 5


@dataclass(frozen=True)
class RankingConfig:
    """Every rule can be switched off to measure its effect; weights are added to the
    person's model scores after min-max scaling to [0, 1] over their candidates, so a
    weight of 0.2 moves an item by a fifth of that person's score range."""

    k: int = 10
    candidates: int = 100
    exclude_completed: bool = True
    skip_mastered: bool = True
    # held within half a level counts as mastered: levels are whole numbers, an expected
    # 2.6 reads as level 3; the band widens by up to a quarter level as the evidence
    # thins, where expected levels are least sure (ml/README.md, "Mastered content")
    mastery_margin: float = 0.5
    mastery_margin_thin_evidence: float = 0.25
    require_prerequisites: bool = True
    level_fit: bool = True
    level_fit_weight: float = 0.15
    format_preference: bool = True
    format_weight: float = 0.3
    preferred_format_margin: float = 0.1
    demote_dropped_formats: bool = True
    dropped_format_penalty: float = 0.25
    dropped_min_items: int = 2
    dropped_min_share: float = 0.5
    # a second copy of an item ("… Workshop (2)") or another item teaching the same
    # skills at the same levels adds nothing a list does not already offer
    skip_near_duplicates: bool = True
    max_per_skill: int | None = 3
    colleague_min_group: int = 5
    colleague_min_share: float = 0.1
    chunk_size: int = 2048

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"RankingConfig.k must be >= 1, got {self.k}")
        if self.candidates < self.k:
            raise ValueError(
                f"RankingConfig.candidates ({self.candidates}) must be >= k ({self.k}): "
                "the rules need at least k candidates per person to choose from"
            )
        if self.max_per_skill is not None and self.max_per_skill < 1:
            raise ValueError("RankingConfig.max_per_skill must be >= 1, or None to disable")
        if self.chunk_size < 1:
            raise ValueError("RankingConfig.chunk_size must be >= 1")
