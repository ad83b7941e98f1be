"""Alembic, driven from code so ``pds db`` and the tests share one configuration."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

import migrations
from pds.settings import prepare_data_dir

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

    from pds.settings import Settings

VERSION_TABLE = "alembic_version"
_CURRENT_REVISION_SQL = f"SELECT version_num FROM {VERSION_TABLE}"  # noqa: S608 - constant name


def alembic_config(settings: Settings) -> Config:
    """An in-memory Alembic config pointing at the packaged ``migrations`` folder."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["settings"] = settings
    return config


@cache
def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    script = ScriptDirectory(str(Path(migrations.__file__).parent))
    return script.get_current_head()


def upgrade(settings: Settings, revision: str = "head") -> None:
    prepare_data_dir(settings)
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None when it has never been migrated.

    Only a missing version table means "never migrated"; a database that cannot be
    reached (or does not exist) raises, so callers do not mistake it for an empty one.
    """
    async with engine.connect() as conn:
        return await conn.run_sync(_read_revision)


def _read_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    revision: str | None = conn.execute(text(_CURRENT_REVISION_SQL)).scalar_one_or_none()
    return revision
