"""Where things live. Every location comes from an environment variable with a default
under ``data/`` (see DESIGN.md), resolved against the current directory so that
``make`` targets, tests and the Dagster UI agree on one layout."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_DEFAULT = Path("data")


def _path(var: str, default: Path) -> Path:
    return Path(os.environ.get(var) or default).expanduser().resolve()


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    truth_dir: Path
    warehouse: Path
    reports_dir: Path
    mlflow_tracking_uri: str
    dagster_home: Path
    pseudonym_key_file: Path
    train_threads: int

    @classmethod
    def from_env(cls) -> Settings:
        data = _path("SKILLPATH_DATA_DIR", DATA_DIR_DEFAULT)
        landing = _path("SKILLPATH_LANDING_DIR", data / "landing")
        return cls(
            landing_dir=landing,
            truth_dir=_path("SKILLPATH_TRUTH_DIR", landing.parent / "truth"),
            warehouse=_path("SKILLPATH_WAREHOUSE", data / "warehouse.duckdb"),
            reports_dir=_path("SKILLPATH_REPORTS_DIR", data / "reports"),
            mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI")
            or f"sqlite:///{data / 'mlflow.db'}",
            dagster_home=_path("DAGSTER_HOME", data / "dagster"),
            pseudonym_key_file=_path("SKILLPATH_PSEUDONYM_KEY_FILE", data / "pseudonym.key"),
            # LightFM trains Hogwild-style: more threads are faster, one is reproducible
            train_threads=int(os.environ.get("SKILLPATH_TRAIN_THREADS") or 2),
        )

    @property
    def mlflow_artifact_root(self) -> Path:
        return self.warehouse.parent / "mlartifacts"


def pseudonym_key(settings: Settings) -> bytes:
    """The HMAC key for person keys.

    ``SKILLPATH_PSEUDONYM_KEY`` wins; otherwise a local key file is created once with
    0600 permissions. Losing the key means new person keys for everyone: history can no
    longer be joined to new exports, so back it up like a database password.
    """
    env_key = os.environ.get("SKILLPATH_PSEUDONYM_KEY")
    if env_key:
        return env_key.encode()
    path = settings.pseudonym_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
