"""The one configuration: shipped values with their reasons, an operator's file on top,
environment variables on top of both, and clear errors for anything that cannot be used."""

from __future__ import annotations

from pathlib import Path

import pytest

from skillpath.config import (
    ENV_OVERRIDES,
    ConfigError,
    load_config,
    reference,
    reference_markdown,
)
from skillpath.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_shipped_file_gives_typed_values() -> None:
    config = load_config({})
    assert isinstance(config.ingest.max_quarantine_share, float)
    assert isinstance(config.training.threads, int)


def test_every_shipped_value_has_its_reason_written_beside_it() -> None:
    entries = reference()
    assert entries, "no keys found in skillpath/config.toml"
    assert [e.key for e in entries if len(e.why.split()) < 5] == []


def test_every_environment_variable_names_a_real_key() -> None:
    keys = {e.key for e in reference()}
    assert set(ENV_OVERRIDES.values()) <= keys


def test_an_environment_variable_wins_over_the_files(tmp_path: Path) -> None:
    own = tmp_path / "own.toml"
    own.write_text("[training]\nthreads = 1\n[ingest]\nmax_quarantine_share = 0.1\n")
    from_file = load_config({"SKILLPATH_CONFIG": str(own)})
    assert from_file.training.threads == 1 and from_file.ingest.max_quarantine_share == 0.1
    both = load_config({"SKILLPATH_CONFIG": str(own), "SKILLPATH_TRAIN_THREADS": "3"})
    assert both.training.threads == 3 and both.ingest.max_quarantine_share == 0.1


def test_an_operator_file_sets_only_what_it_names(tmp_path: Path) -> None:
    own = tmp_path / "own.toml"
    own.write_text("[training]\nthreads = 1\n")
    shipped = load_config({})
    config = load_config({"SKILLPATH_CONFIG": str(own)})
    assert config.training.threads == 1
    assert config.ingest == shipped.ingest


@pytest.mark.parametrize(
    ("content", "env", "message"),
    [
        ("[ingest]\nmax_quarantine_shar = 0.1\n", {}, "unknown key 'ingest.max_quarantine_shar'"),
        ("[trainning]\nthreads = 1\n", {}, "unknown key 'trainning'"),
        ("[training]\nthreads = 'two'\n", {}, "training.threads: expected int"),
        ("[ingest]\nmax_quarantine_share = 1.5\n", {}, "outside"),
        ("[ingest\n", {}, "not valid TOML"),
        ("", {"SKILLPATH_TRAIN_THREADS": "many"}, "SKILLPATH_TRAIN_THREADS"),
        ("", {"SKILLPATH_MAX_QUARANTINE_SHARE": "-0.1"}, "outside"),
    ],
)
def test_errors_name_the_key_and_what_is_wrong(
    tmp_path: Path, content: str, env: dict[str, str], message: str
) -> None:
    own = tmp_path / "own.toml"
    own.write_text(content)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")) as error:
        load_config({"SKILLPATH_CONFIG": str(own), **env})
    if content and not env:
        assert str(own) in str(error.value) or "." in str(error.value)


def test_a_missing_operator_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_config({"SKILLPATH_CONFIG": str(tmp_path / "missing.toml")})


def test_settings_come_from_the_mapping_given_not_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKILLPATH_WAREHOUSE", str(tmp_path / "process.duckdb"))
    monkeypatch.setenv("SKILLPATH_TRAIN_THREADS", "2")
    settings = Settings.from_mapping(
        {"SKILLPATH_WAREHOUSE": str(tmp_path / "given.duckdb"), "SKILLPATH_TRAIN_THREADS": "1"}
    )
    assert settings.warehouse.name == "given.duckdb"
    assert settings.config.training.threads == 1


def test_the_reference_page_is_current() -> None:
    assert DOC.read_text() == reference_markdown(), (
        "docs/configuration.md is stale: .venv/bin/python -m skillpath.config > "
        "docs/configuration.md"
    )
