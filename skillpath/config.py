"""The one configuration of skillpath's tunables, as types.

Values live in one file, ``skillpath/config.toml``, with the reason for each value written
beside it. Two things may change them, in this order:

1. a file of the operator's own, named by ``SKILLPATH_CONFIG`` (same layout; only the keys
   it sets replace the shipped ones);
2. a few environment variables for the values people change per run or per machine
   (``ENV_OVERRIDES``: e.g. ``SKILLPATH_TRAIN_THREADS``).

Everything is read from an explicit mapping (``load_config(env)``), never from a patched
``os.environ``, so a Dagster resource, the CLI and a test each build exactly the
configuration they mean. A wrong key, a wrong type or an out-of-range value is an error
that names the file (or variable), the key and what is expected.

Sections map onto frozen dataclasses declared here. This module sits at the bottom of the
layers (``.importlinter``): it imports nothing of the project, and ``ml`` imports nothing
of ``skillpath``, so the wiring (``orchestration``, the CLI) turns a section into the
recommender's own configuration types (``ml.train.TrainConfig`` and the like); a test
keeps shipped values and ``ml``'s defaults in step where both exist.
``docs/configuration.md`` is generated from the file and these declarations
(``python -m skillpath.config``); a test keeps it current.

Why one module of over 400 lines: it is the one typed home of the configuration —
sections, bounds, loader and the generated reference page read the same declarations,
and ``python -m skillpath.config`` is the documented command that writes the page.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.toml"
CONFIG_ENV = "SKILLPATH_CONFIG"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class IngestConfig:
    max_quarantine_share: float
    max_record_bytes: int
    max_json_depth: int
    earliest_event_date: date
    future_tolerance_hours: float
    snapshot_max_absent_share: float


@dataclass(frozen=True)
class OperationsConfig:
    lock_wait_seconds: float
    dagster_lock_wait_seconds: float


@dataclass(frozen=True)
class MartsConfig:
    assignment_iris: tuple[str, ...]


@dataclass(frozen=True)
class ValidationSettings:
    """``[training.validation]``: the values of ``ml.validation.ValidationConfig`` (config is
    the bottom layer and cannot import ``ml``; orchestration hands them over, and a test
    keeps the fields and shipped values equal to ``ml``'s defaults)."""

    share: float
    min_positives: int
    max_persons: int
    min_persons: int
    fallback_epochs: int


@dataclass(frozen=True)
class TrainingConfig:
    """``[training]``: LightFM's hyper-parameters (``ml.train.TrainConfig``; a test keeps
    the shipped values equal to its defaults), the threads, and ``tuned_by``: the MLflow
    tuning run whose best trial set them (``skillpath tune --apply``)."""

    threads: int
    no_components: int
    learning_rate: float
    item_alpha: float
    user_alpha: float
    max_sampled: int
    tuned_by: str
    validation: ValidationSettings


@dataclass(frozen=True)
class EvaluationConfig:
    """The hold-out protocols (``ml.evaluate.EvalConfig``)."""

    protocols: tuple[str, ...]
    gate_protocol: str
    holdout_weeks: int
    holdout_share: float
    min_positives: int
    vanilla_seeds: tuple[int, ...]


@dataclass(frozen=True)
class ModelQualityConfig:
    """The model-quality gate (``ml.verdict.QualityRule`` and the diversity floor)."""

    margin: float
    confidence: float
    resamples: int
    seed: int
    min_persons: int
    min_catalogue_coverage: float


@dataclass(frozen=True)
class FairnessConfig:
    """The fairness audit and its gate (``ml.fairness``, ``skillpath.publish.fairness``)."""

    min_group_size: int
    small_groups: str
    not_stated: tuple[str, ...]
    age_band_edges: tuple[int, ...]
    advanced_level: int
    leadership_categories: tuple[str, ...]
    leadership_skills: tuple[str, ...]
    blocking_metrics: tuple[str, ...]
    blocking_attributes: tuple[str, ...]
    alpha: float
    n_boot: int
    seed: int
    block_when_not_audited: bool
    mitigation: bool
    mitigation_max_relevance_loss: float
    mitigation_candidates: int
    min_ratio: dict[str, float]


@dataclass(frozen=True)
class PrivacyConfig:
    erase_lock_wait_seconds: float


@dataclass(frozen=True)
class RetentionConfig:
    events_months: int
    quarantine_payload_days: int
    publications_months: int


@dataclass(frozen=True)
class Config:
    """Every section of ``config.toml``; each issue's thresholds get a section here."""

    ingest: IngestConfig
    marts: MartsConfig
    training: TrainingConfig
    evaluation: EvaluationConfig
    model_quality: ModelQualityConfig
    fairness: FairnessConfig
    operations: OperationsConfig
    privacy: PrivacyConfig
    retention: RetentionConfig


# environment variable → dotted key; the values people set per run or per machine
ENV_OVERRIDES: dict[str, str] = {
    "SKILLPATH_MAX_QUARANTINE_SHARE": "ingest.max_quarantine_share",
    "SKILLPATH_TRAIN_THREADS": "training.threads",
    "SKILLPATH_EARLIEST_EVENT_DATE": "ingest.earliest_event_date",
    "SKILLPATH_LOCK_WAIT_SECONDS": "operations.lock_wait_seconds",
    "SKILLPATH_ERASE_LOCK_WAIT_SECONDS": "privacy.erase_lock_wait_seconds",
}

# values that must lie in a range: dotted key → (low, high), both inclusive
BOUNDS: dict[str, tuple[float, float]] = {
    "ingest.max_quarantine_share": (0.0, 1.0),
    "training.threads": (1, 64),
    "training.no_components": (1, 1024),
    "training.learning_rate": (1e-5, 1.0),
    "training.item_alpha": (0.0, 1.0),
    "training.user_alpha": (0.0, 1.0),
    "training.max_sampled": (1, 1000),
    "evaluation.holdout_weeks": (1, 104),
    "evaluation.holdout_share": (0.01, 0.9),
    "evaluation.min_positives": (2, 1000),
    "model_quality.margin": (-1.0, 1.0),
    "model_quality.confidence": (0.5, 0.999),
    "model_quality.resamples": (100, 100_000),
    "model_quality.min_persons": (1, 1_000_000),
    "model_quality.min_catalogue_coverage": (0.0, 1.0),
    "fairness.min_group_size": (2, 10_000),
    "fairness.advanced_level": (1, 5),
    "fairness.alpha": (1e-6, 0.5),
    "fairness.n_boot": (100, 100_000),
    "fairness.mitigation_max_relevance_loss": (0.0, 0.99),
    "fairness.mitigation_candidates": (10, 1000),
    "training.validation.share": (0.01, 0.99),
    "training.validation.min_positives": (2, 1000),
    "training.validation.max_persons": (1, 10_000_000),
    "training.validation.min_persons": (1, 10_000_000),
    "training.validation.fallback_epochs": (1, 1000),
    "ingest.max_record_bytes": (1024, 1 << 30),
    "ingest.max_json_depth": (8, 512),
    "ingest.future_tolerance_hours": (0, 24 * 365),
    "ingest.snapshot_max_absent_share": (0.0, 1.0),
    "operations.lock_wait_seconds": (0, 86_400),
    "operations.dagster_lock_wait_seconds": (0, 86_400),
    "privacy.erase_lock_wait_seconds": (0, 86_400),
    "retention.events_months": (1, 240),
    "retention.quarantine_payload_days": (1, 3_650),
    "retention.publications_months": (1, 240),
}


def shipped_config_text() -> str:
    return resources.files("skillpath").joinpath(CONFIG_FILE).read_text(encoding="utf-8")


def _parse(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML ({exc}); fix the file") from exc


def _merge(base: dict[str, Any], extra: Mapping[str, Any], origin: str, path: str = "") -> None:
    """Replace ``base``'s values by ``extra``'s, key by key; a key the shipped file does not
    know is a typo, not a new setting."""
    for key, value in extra.items():
        dotted = f"{path}{key}"
        if key not in base:
            known = ", ".join(sorted(base)) or "none"
            raise ConfigError(f"{origin}: unknown key {dotted!r} (known here: {known})")
        if isinstance(base[key], dict) and isinstance(value, Mapping):
            _merge(base[key], value, origin, f"{dotted}.")
        else:
            base[key] = value


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, key = dotted.split(".")
    for section in sections:
        data = data.setdefault(section, {})
    data[key] = value


def _from_text(kind: Any, text: str, where: str) -> Any:
    """An environment variable's string as the type of the key it overrides."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if text.strip().lower() in ("", "none", "null"):
            return None
        return _from_text(next(a for a in args if a is not type(None)), text, where)
    if kind is bool:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ConfigError(f"{where}: {text!r} is not true or false")
    if origin in (tuple, list, frozenset):
        return [item.strip() for item in text.split(",") if item.strip()]
    if kind is date:
        try:
            return date.fromisoformat(text.strip())
        except ValueError as exc:
            raise ConfigError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from exc
    try:
        return kind(text)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {text!r} is not a valid {kind.__name__}") from exc


def _coerce(kind: Any, value: Any, where: str) -> Any:
    """``value`` (from TOML or an environment variable, already typed) checked against the
    field's type; ints are accepted where floats are expected, lists where tuples are."""
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{where}: a value is required")
        return _coerce(next(a for a in args if a is not type(None)), value, where)
    if dataclasses.is_dataclass(kind):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table of settings, got {value!r}")
        return build(kind, value, where)
    if origin in (tuple, list, frozenset):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return origin(items)
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table, got {value!r}")
        return {str(k): _coerce(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if kind is Any:
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}")
    return value


def build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    """An instance of the dataclass ``cls`` from ``data``: every field without a default
    must be given, unknown keys are refused."""
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})"
        )
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key = f"{where}.{f.name}" if where else f.name
        if f.name in data:
            values[f.name] = _coerce(hints[f.name], data[f.name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key}: missing (add it to {CONFIG_FILE})")
    return cls(**values)


def _check_bounds(config: Config) -> None:
    for dotted, (low, high) in BOUNDS.items():
        value: Any = config
        for part in dotted.split("."):
            value = getattr(value, part)
        if value is not None and not low <= value <= high:
            raise ConfigError(f"{dotted}: {value} is outside [{low}, {high}]")


def load_config(env: Mapping[str, str]) -> Config:
    """The configuration for this environment: the shipped file, then the operator's file
    named by ``SKILLPATH_CONFIG``, then the variables of ``ENV_OVERRIDES``."""
    data = _parse(shipped_config_text(), f"skillpath/{CONFIG_FILE}")
    own = env.get(CONFIG_ENV)
    if own:
        path = Path(own).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={own}: no such file")
        _merge(data, _parse(path.read_text(encoding="utf-8"), str(path)), str(path))
    hints = _leaf_types()
    for var, dotted in ENV_OVERRIDES.items():
        text = env.get(var)
        if text not in (None, ""):
            _set(data, dotted, _from_text(hints[dotted], text, f"{var} ({dotted})"))
    config = build(Config, data, "")
    _check_bounds(config)
    return config


def _leaf_types(cls: type = Config, prefix: str = "") -> dict[str, Any]:
    """dotted key → declared type, for every leaf setting."""
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            out.update(_leaf_types(kind, f"{prefix}{f.name}."))
        else:
            out[f"{prefix}{f.name}"] = kind
    return out


# --- the reference page -------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    key: str
    value: str
    env: str | None
    why: str = field(default="")


_SECTION = re.compile(r"^\[([A-Za-z0-9_.]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$")


def reference(text: str | None = None) -> list[Entry]:
    """Every key of the shipped file with its value, its environment variable and the
    comment lines written directly above it (the reason for the value)."""
    text = shipped_config_text() if text is None else text
    env_of = {dotted: var for var, dotted in ENV_OVERRIDES.items()}
    entries, section, comment = [], "", []
    for line in text.splitlines():
        stripped = line.strip()
        if match := _SECTION.match(stripped):
            section, comment = match.group(1), []
        elif stripped.startswith("#"):
            comment.append(stripped.lstrip("#").strip())
        elif match := _KEY.match(stripped):
            dotted = f"{section}.{match.group(1)}" if section else match.group(1)
            entries.append(Entry(dotted, match.group(2), env_of.get(dotted), " ".join(comment)))
            comment = []
        elif not stripped:
            comment = []
    return entries


def reference_markdown() -> str:
    lines = [
        "# Configuration",
        "",
        "Generated from `skillpath/config.toml` by `python -m skillpath.config`; do not edit",
        "by hand. Each value's reason is the comment above it in that file.",
        "",
        "Change a value with a file of your own named by `SKILLPATH_CONFIG` (same layout, only",
        "the keys you set), or, where the table names one, an environment variable (it wins",
        "over both files). A wrong key, type or range stops the command with a message naming",
        "the key.",
        "",
        "| key | value | variable | why |",
        "|---|---|---|---|",
    ]
    for e in reference():
        why = e.why.replace("|", "\\|")
        env = f"`{e.env}`" if e.env else ""
        lines.append(f"| `{e.key}` | `{e.value}` | {env} | {why} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(reference_markdown())
