"""Settings: every bad ``PDS_*`` value is refused by name, and all of them at once."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from pds.settings import Settings, SettingsError, log_level_number

if TYPE_CHECKING:
    from pathlib import Path


def test_nothing_set_means_the_documented_defaults() -> None:
    assert Settings.from_env({}) == Settings()


def test_an_empty_value_means_the_default() -> None:
    assert Settings.from_env({"PDS_PORT": "", "PDS_LOG_LEVEL": ""}) == Settings()


def test_valid_values_are_parsed_and_normalised(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PDS_DATA_DIR": str(tmp_path),
            "PDS_DATABASE_URL": "postgresql+asyncpg://pds@db.internal/pds",
            "PDS_HOST": "192.0.2.10",
            "PDS_PORT": "8443",
            "PDS_BASE_URL": "https://pds.example.gov.uk/",
            "PDS_LOG_LEVEL": " debug ",
        }
    )

    assert settings == Settings(
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://pds@db.internal/pds",
        host="192.0.2.10",
        port=8443,
        base_url="https://pds.example.gov.uk",
        log_level="DEBUG",
    )
    assert settings.secure_cookies
    assert settings.resolved_database_url == "postgresql+asyncpg://pds@db.internal/pds"
    assert log_level_number(settings) == logging.DEBUG


def test_the_process_environment_is_read_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PDS_PORT", "9001")

    assert Settings.from_env().port == 9001


@pytest.mark.parametrize(
    "base_url", ["http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"]
)
def test_plain_http_is_allowed_only_for_this_machine(base_url: str) -> None:
    settings = Settings.from_env({"PDS_BASE_URL": base_url})

    assert settings.base_url == base_url
    assert not settings.secure_cookies


def test_without_a_database_url_sqlite_lives_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    assert settings.resolved_database_url == (
        f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'pds.sqlite3').resolve()}"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PDS_PORT", "eighty"),
        ("PDS_PORT", "0"),
        ("PDS_PORT", "65536"),
        ("PDS_PORT", "-1"),
        ("PDS_PORT", "80.5"),
        ("PDS_BASE_URL", "pds.example.gov.uk"),
        ("PDS_BASE_URL", "ftp://pds.example.gov.uk"),
        ("PDS_BASE_URL", "https://"),
        ("PDS_BASE_URL", "http://pds.example.gov.uk"),
        ("PDS_BASE_URL", "http://localhost.example.gov.uk"),
        ("PDS_BASE_URL", "https://pds.example.gov.uk/?council=1"),
        ("PDS_BASE_URL", "https://pds.example.gov.uk/#top"),
        ("PDS_DATABASE_URL", "postgresql://pds@db.internal/pds"),
        ("PDS_DATABASE_URL", "sqlite:///var/pds.sqlite3"),
        ("PDS_DATABASE_URL", "mysql+aiomysql://pds@db.internal/pds"),
        ("PDS_DATABASE_URL", "var/pds.sqlite3"),
        ("PDS_LOG_LEVEL", "verbose"),
        ("PDS_LOG_LEVEL", "TRACE"),
        ("PDS_HOST", "bad host"),
        ("PDS_HOST", "http://0.0.0.0"),
    ],
)
def test_an_invalid_value_is_refused_naming_its_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({name: value})

    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(f"{name}=")
    assert name in str(refused.value)


def test_a_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "pds.conf"
    a_file.write_text("not a folder", encoding="utf-8")

    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"PDS_DATA_DIR": str(a_file)})

    [problem] = refused.value.problems
    assert problem.startswith("PDS_DATA_DIR=")
    assert "not a folder" in problem


def test_a_data_dir_that_does_not_exist_yet_is_accepted(tmp_path: Path) -> None:
    # The folder is created (0700) when the app or a command first needs it.
    assert Settings.from_env({"PDS_DATA_DIR": str(tmp_path / "new")}).data_dir == tmp_path / "new"


def test_every_bad_value_is_reported_at_once(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.touch()
    env = {
        "PDS_DATA_DIR": str(a_file),
        "PDS_DATABASE_URL": "mysql://db/pds",
        "PDS_HOST": "two words",
        "PDS_PORT": "99999",
        "PDS_BASE_URL": "pds.example.gov.uk",
        "PDS_LOG_LEVEL": "loud",
    }

    with pytest.raises(SettingsError) as refused:
        Settings.from_env(env)

    named = [problem.split("=", 1)[0] for problem in refused.value.problems]
    assert sorted(named) == sorted(env)
    lines = str(refused.value).splitlines()
    assert lines[0] == "Invalid settings:"
    assert len(lines) == 1 + len(env)
    assert all(line.startswith("  - PDS_") for line in lines[1:])


def test_a_refused_database_url_does_not_echo_its_password() -> None:
    # The usual mistake (the sync driver's scheme) must not print the password
    # into a terminal or a CI log.
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"PDS_DATABASE_URL": "postgresql://pds:hunter2@db.internal:5432/pds"})

    message = str(refused.value)
    assert "hunter2" not in message
    assert "PDS_DATABASE_URL='postgresql://pds:***@db.internal:5432/pds'" in message
