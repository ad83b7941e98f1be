"""Typed settings read from the ``PDS_*`` environment variables.

Settings are built explicitly (``Settings.from_env()``) when the app or a CLI
command starts, never at import, so tests pass a ``Settings`` object instead of
patching globals. Every bad value is reported at once, each naming its variable,
because an operator fixing a deployment wants the whole list, not one at a time.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg")


class SettingsError(Exception):
    """One or more settings are invalid; ``problems`` holds one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Invalid settings:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the operator can configure; see API.md "Operator contract"."""

    data_dir: Path = Path("var")
    """PDS_DATA_DIR: folder for the SQLite file, the local key file and blobs."""
    database_url: str = ""
    """PDS_DATABASE_URL: SQLAlchemy async URL; empty means SQLite in the data folder."""
    host: str = "127.0.0.1"
    """PDS_HOST: interface ``pds serve`` binds."""
    port: int = 8000
    """PDS_PORT: port ``pds serve`` binds."""
    base_url: str = "http://127.0.0.1:8000"
    """PDS_BASE_URL: public origin, used as issuer identifier and in links."""
    log_level: str = "INFO"
    """PDS_LOG_LEVEL: one of DEBUG, INFO, WARNING, ERROR, CRITICAL."""
    audit_sequencer: bool = True
    """PDS_AUDIT_SEQUENCER: run background work (audit sequencer, expiry sweep) in the server."""
    connect_rate_limit: int = 6000
    """PDS_CONNECT_RATE_LIMIT: connector API requests per client per minute, all processes."""

    @property
    def resolved_database_url(self) -> str:
        """The URL actually used: the explicit one, or SQLite under the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'pds.sqlite3').resolve()}"

    @property
    def secure_cookies(self) -> bool:
        """Cookies get ``Secure`` whenever the public origin is https."""
        return self.base_url.startswith("https://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every ``PDS_*`` variable, raising one ``SettingsError``."""
        env = os.environ if environ is None else environ
        problems: list[str] = []
        values: dict[str, object] = {}
        for name, attr, parse in _FIELDS:
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                values[attr] = parse(raw)
            except ValueError as exc:
                problems.append(f"{name}={_shown(raw)!r}: {exc}")
        if problems:
            raise SettingsError(problems)
        return cls(**values)  # type: ignore[arg-type]


_URL_PASSWORD = re.compile(r"(?<=://)([^/:@]*):.*@")


def _shown(raw: str) -> str:
    """The value as it may be printed: a password inside a URL is masked."""
    return _URL_PASSWORD.sub(r"\1:***@", raw)


def _parse_switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ValueError("must be on or off")


def _parse_port(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ValueError("must be a whole number from 1 to 65535")
    return int(raw)


def _parse_rate_limit(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000_000:
        raise ValueError("must be a whole number of requests a minute, from 1 to 10000000")
    return int(raw)


def _parse_log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
    return level


def _parse_base_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL such as https://pds.example.gov.uk")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or fragment")
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("must use https unless it points at this machine (localhost)")
    return raw.rstrip("/")


def _parse_database_url(raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in DATABASE_SCHEMES:
        raise ValueError(
            "must start with sqlite+aiosqlite:/// or postgresql+asyncpg:// "
            "(the async drivers PDS ships with)"
        )
    return raw


def _parse_host(raw: str) -> str:
    if any(ch.isspace() for ch in raw) or "/" in raw:
        raise ValueError("must be a host name or IP address")
    return raw


def _parse_data_dir(raw: str) -> Path:
    path = Path(raw)
    if path.exists() and not path.is_dir():
        raise ValueError("exists but is not a folder")
    return path


_FIELDS: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("PDS_DATA_DIR", "data_dir", _parse_data_dir),
    ("PDS_DATABASE_URL", "database_url", _parse_database_url),
    ("PDS_HOST", "host", _parse_host),
    ("PDS_PORT", "port", _parse_port),
    ("PDS_BASE_URL", "base_url", _parse_base_url),
    ("PDS_LOG_LEVEL", "log_level", _parse_log_level),
    ("PDS_AUDIT_SEQUENCER", "audit_sequencer", _parse_switch),
    ("PDS_CONNECT_RATE_LIMIT", "connect_rate_limit", _parse_rate_limit),
)


def prepare_data_dir(settings: Settings) -> Path:
    """Create the data folder readable by its owner only: it holds the KEK and the database."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    return settings.data_dir


def log_level_number(settings: Settings) -> int:
    """The numeric level for the stdlib logging module."""
    return logging.getLevelNamesMapping()[settings.log_level]
