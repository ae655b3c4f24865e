"""The sample organisation: realistic landing files for every source of docs/data-contract.md,
simulated from a latent ground truth that is written separately for evaluation."""

from skillpath.sample.config import SampleConfig
from skillpath.sample.generate import Summary, generate

__all__ = ["SampleConfig", "Summary", "generate"]
