"""Scratch data for benchmark runs: a throwaway PostgreSQL database, citizen accounts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import TYPE_CHECKING, Final

import asyncpg

from pds.accounts.models import Account
from pds.db import transaction

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pds.db import Database

NO_HASH: Final = "-"  # benchmark accounts never sign in: their sessions are stored directly


@contextlib.contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server ``server_url`` names, dropped afterwards (a
    run's data is sealed under its throwaway KEK, so it is no use to the next run)."""
    name = f"pds_bench_{uuid.uuid4().hex[:12]}"
    admin = server_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def execute(sql: str) -> None:  # CREATE/DROP DATABASE: outside a transaction
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def add_accounts(db: Database, count: int) -> list[uuid.UUID]:
    """``count`` citizen accounts, committed; their ids."""
    accounts = [
        Account(
            email=f"c{i}-{uuid.uuid4().hex[:8]}@example.com", role="citizen", password_hash=NO_HASH
        )
        for i in range(count)
    ]
    async with transaction(db.sessions) as session:
        session.add_all(accounts)
    return [account.id for account in accounts]
