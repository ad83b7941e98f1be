"""Alembic environment: async engine from the PDS settings, every model registered."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from alembic import context

from pds.db import UTCDateTime, create_engine
from pds.models import metadata
from pds.settings import Settings

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from sqlalchemy.engine import Connection

config = context.config
settings: Settings = config.attributes.get("settings") or Settings.from_env()


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our column types by import, so revisions stay runnable and readable."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from pds.db import UTCDateTime")
        return "UTCDateTime()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.resolved_database_url, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
