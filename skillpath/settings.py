"""Where things live, and the configuration that applies. Every location comes from an
environment variable with a default under ``data/`` (README, "Configuration"), resolved
against the current directory so that ``make`` targets, tests and the Dagster UI agree on
one layout; tunables come from ``skillpath.config``.

``Settings.from_mapping(env)`` builds everything from the mapping it is given (the CLI
passes ``os.environ``; a Dagster resource passes the environment plus its own fields), so
no caller ever needs to patch the process environment."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from skillpath.config import Config, load_config

DATA_DIR_DEFAULT = Path("data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    truth_dir: Path
    warehouse: Path
    reports_dir: Path
    mlflow_tracking_uri: str
    dagster_home: Path
    logs_dir: Path
    pseudonym_key_file: Path
    config: Config
    # SKILLPATH_PSEUDONYM_KEY when set (a secret: never printed)
    pseudonym_key_value: str | None = field(default=None, repr=False)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        def path(var: str, default: Path) -> Path:
            return Path(env.get(var) or default).expanduser().resolve()

        data = path("SKILLPATH_DATA_DIR", DATA_DIR_DEFAULT)
        landing = path("SKILLPATH_LANDING_DIR", data / "landing")
        return cls(
            data_dir=data,
            landing_dir=landing,
            truth_dir=path("SKILLPATH_TRUTH_DIR", landing.parent / "truth"),
            warehouse=path("SKILLPATH_WAREHOUSE", data / "warehouse.duckdb"),
            reports_dir=path("SKILLPATH_REPORTS_DIR", data / "reports"),
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{data / 'mlflow.db'}",
            dagster_home=path("DAGSTER_HOME", data / "dagster"),
            # one log file per command (dbt, Dagster, library detail the terminal leaves out)
            logs_dir=data / "logs",
            pseudonym_key_file=path("SKILLPATH_PSEUDONYM_KEY_FILE", data / "pseudonym.key"),
            config=load_config(env),
            pseudonym_key_value=env.get("SKILLPATH_PSEUDONYM_KEY") or None,
        )

    @classmethod
    def from_env(cls) -> Settings:
        """The process environment's settings (the CLI's and the tests')."""
        return cls.from_mapping(os.environ)

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.warehouse.parent / "mlartifacts"


def make_private(settings: Settings) -> None:
    """Everything this process writes from now on is its owner's only (umask 077: files
    0600, directories 0700), and so is the data directory, created if missing or
    tightened if an older version left it open to the group or others: the warehouse,
    the MLflow store and Dagster's storage hold person-level data (docs/privacy.md,
    Files). The CLI calls it before any command, every Dagster run before its first step."""
    os.umask(0o077)
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    if data.stat().st_mode & 0o077:
        data.chmod(0o700)


def pseudonym_key(settings: Settings) -> bytes:
    """The HMAC key for person keys.

    ``SKILLPATH_PSEUDONYM_KEY`` wins; otherwise a local key file is created once with
    0600 permissions. Losing the key means new person keys for everyone: history can no
    longer be joined to new exports, so back it up like a database password.
    """
    if settings.pseudonym_key_value:
        return settings.pseudonym_key_value.encode()
    path = settings.pseudonym_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
