"""What every ``pds`` command shares: settings read with readable errors, the failures an
operator can fix shown as one line, the key file, and a database refused early when it
is not migrated. Its own module so that command groups elsewhere (``connectors.cli``)
use it without importing ``pds.cli``, which imports them.
"""

from __future__ import annotations

import asyncio
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click
from sqlalchemy.exc import DBAPIError

from pds.settings import Settings, SettingsError, prepare_data_dir

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pds.db import Database
    from pds.keys.provider import KeyProvider

P = ParamSpec("P")
R = TypeVar("R")


def settings_from_env() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the failures an operator can fix into one readable line."""
    from pds.errors import DomainError  # noqa: PLC0415
    from pds.keys.provider import KeyProviderError  # noqa: PLC0415

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DBAPIError as exc:
            raise click.ClickException(f"cannot reach the database: {exc.orig}") from exc
        except (DomainError, KeyProviderError) as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def key_provider(settings: Settings) -> KeyProvider:
    from pds.app import KEK_FILE  # noqa: PLC0415
    from pds.keys.provider import LocalKeyFileProvider  # noqa: PLC0415

    return LocalKeyFileProvider.open(prepare_data_dir(settings) / KEK_FILE)


def run_with_db(settings: Settings, work: Callable[[Database], Awaitable[R]]) -> R:
    """Run ``work`` against a database refused early when it is not migrated."""
    from pds import migrate  # noqa: PLC0415
    from pds.db import open_database  # noqa: PLC0415

    async def go() -> R:
        db = open_database(settings)
        try:
            if await migrate.current_revision(db.engine) != migrate.head_revision():
                raise click.ClickException("the database is not migrated: run `pds db upgrade`")
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())
