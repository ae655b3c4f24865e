"""Run options a person sets per run in the Dagster launchpad (``dg.Config``).

The configuration file (``skillpath/config.toml`` + ``SKILLPATH_CONFIG`` + environment)
stays the one home of every tunable: these options only override a value for one run and
default to "use the configuration", so ``skillpath run``, the schedules and the sensors
launch runs without any run config. Values outside the configuration's ``BOUNDS`` are
refused before anything trains, with the allowed range in the message.
"""

from dataclasses import replace

import dagster as dg
from pydantic import Field

from ml.train import TrainConfig
from skillpath.config import BOUNDS

SEED_RANGE = (0, 2**31 - 1)  # what numpy's RandomState accepts


class TrainingRunConfig(dg.Config):
    """Per-run overrides of the recommender's training (``model_evaluation`` and
    ``recommender_model``): ``threads=1`` reproduces a model's weights exactly (e.g. to
    investigate one run), ``seed`` checks that a result does not hang on one seed."""

    threads: int | None = Field(
        default=None,
        description="LightFM threads for this run (1 reproduces weights exactly); "
        "empty: [training] threads of the configuration",
    )
    seed: int | None = Field(
        default=None,
        description="seed of LightFM and of the validation draw for this run; "
        "empty: the ml default (42)",
    )

    def apply(self, config: TrainConfig) -> TrainConfig:
        """``config`` with this run's overrides; ``dg.Failure`` naming the option and
        its allowed range when a value is out of range."""
        low, high = BOUNDS["training.threads"]
        _check("threads", self.threads, int(low), int(high))
        _check("seed", self.seed, *SEED_RANGE)
        return replace(
            config,
            num_threads=config.num_threads if self.threads is None else self.threads,
            seed=config.seed if self.seed is None else self.seed,
        )


def _check(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise dg.Failure(
            f"run config {name}={value} is outside [{low}, {high}]: set a value in that "
            f"range in the launchpad, or leave {name} empty to use the configuration"
        )
