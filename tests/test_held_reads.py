"""Connections kept for ``Database.fetch`` on PostgreSQL (``pds.held_reads``): lent to one
fetch at a time, never leaked, thrown away when a fetch fails on them."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import asyncpg
import pytest
from conftest import terminate_backends
from sqlalchemy import select, text

from pds.db import open_database
from pds.db_failures import ConnectionLost
from pds.held_reads import HeldConnections
from pds.plain_select import PlainSelect

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pds.db import Database
    from pds.settings import Settings

BACKEND_PID = PlainSelect(select(text("pg_backend_pid()")))
SLOW = PlainSelect(select(text("pg_sleep(0.5)")))


@pytest.fixture
async def pg(settings: Settings, backend: str) -> AsyncIterator[Database]:
    if backend != "postgres":
        pytest.skip("connections are kept for fetches on PostgreSQL only")
    database = open_database(settings, pool_size=4, max_overflow=4)
    try:
        yield database
    finally:
        await database.dispose()


def held(database: Database) -> HeldConnections:
    assert database.held_reads is not None
    return database.held_reads


async def test_fetches_one_after_another_share_one_kept_connection(pg: Database) -> None:
    pids = {(await pg.fetch(BACKEND_PID, {}))[0][0] for _ in range(5)}
    assert len(pids) == 1
    assert held(pg).held == 1
    assert pg.engine.pool.checkedout() == 1


async def test_concurrent_fetches_wait_their_turn_on_the_kept_connections(
    settings: Settings, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("connections are kept for fetches on PostgreSQL only")
    database = open_database(settings, pool_size=4, max_overflow=8)
    database.held_reads = HeldConnections(database.engine, size=2, recycle=3600)
    try:
        results = await asyncio.gather(*(database.fetch(BACKEND_PID, {}) for _ in range(10)))
        assert all(len(rows) == 1 for rows in results)
        assert len({rows[0][0] for rows in results}) <= 2  # no pooled connection was needed
        assert held(database).held == 2
        assert database.engine.pool.checkedout() == 2
    finally:
        await database.dispose()


async def test_a_fetch_kept_waiting_too_long_takes_a_pooled_connection(pg: Database) -> None:
    pg.held_reads = HeldConnections(pg.engine, size=1, recycle=3600)
    [(kept,)] = await pg.fetch(BACKEND_PID, {})
    slow = asyncio.ensure_future(pg.fetch(SLOW, {}))
    await asyncio.sleep(0.05)  # the slow query has the one kept connection

    started = time.monotonic()
    [(other,)] = await pg.fetch(BACKEND_PID, {})

    assert other != kept
    assert time.monotonic() - started < 0.4  # WAIT_LIMIT, not the slow query's 0.5 s
    await slow
    assert held(pg).held == 1
    assert (await pg.fetch(BACKEND_PID, {}))[0][0] == kept


async def test_a_waiting_fetch_that_is_cancelled_loses_no_connection(pg: Database) -> None:
    pg.held_reads = HeldConnections(pg.engine, size=1, recycle=3600)
    [(kept,)] = await pg.fetch(BACKEND_PID, {})
    busy = asyncio.ensure_future(pg.fetch(PlainSelect(select(text("pg_sleep(0.05)"))), {}))
    await asyncio.sleep(0.01)
    waiting = asyncio.ensure_future(pg.fetch(BACKEND_PID, {}))
    await asyncio.sleep(0.01)

    waiting.cancel()
    await busy

    assert waiting.cancelled()
    assert held(pg).held == 1
    assert pg.engine.pool.checkedout() == 1
    assert (await pg.fetch(BACKEND_PID, {}))[0][0] == kept


async def test_a_kept_connection_let_go_sends_a_waiting_fetch_to_the_pool(pg: Database) -> None:
    pg.held_reads = HeldConnections(pg.engine, size=1, recycle=0)  # every one is let go

    results = await asyncio.gather(*(pg.fetch(BACKEND_PID, {}) for _ in range(6)))

    assert all(len(rows) == 1 for rows in results)
    assert held(pg).held == 0
    assert pg.engine.pool.checkedout() == 0


async def test_a_kept_connection_the_server_closed_is_replaced_before_use(
    pg: Database, settings: Settings
) -> None:
    [(mine,)] = await pg.fetch(BACKEND_PID, {})
    assert await terminate_backends(settings, [mine]) == 1

    [(fresh,)] = await pg.fetch(BACKEND_PID, {})

    assert fresh != mine
    assert held(pg).held == 1  # the closed one let go, a new one kept


async def test_a_connection_dropped_mid_query_fails_that_fetch_as_connection_lost(
    pg: Database, settings: Settings
) -> None:
    [(mine,)] = await pg.fetch(BACKEND_PID, {})

    async def drop_it_soon() -> None:
        await asyncio.sleep(0.3)
        await terminate_backends(settings, [mine])

    dropping = asyncio.create_task(drop_it_soon())
    with pytest.raises(ConnectionLost):
        await pg.fetch(PlainSelect(select(text("pg_sleep(5)"))), {})
    await dropping

    assert held(pg).held == 0  # thrown away, not kept
    [(fresh,)] = await pg.fetch(BACKEND_PID, {})
    assert fresh != mine


async def test_a_failed_query_throws_its_connection_away(pg: Database) -> None:
    await pg.fetch(BACKEND_PID, {})
    broken = PlainSelect(select(text("1/0")))
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pg.fetch(broken, {})
    assert held(pg).held == 0
    assert len(await pg.fetch(BACKEND_PID, {})) == 1  # the next one keeps a fresh connection
    assert held(pg).held == 1


async def test_a_kept_connection_past_the_recycle_age_goes_back_to_the_pool(
    pg: Database,
) -> None:
    pg.held_reads = HeldConnections(pg.engine, size=2, recycle=0)
    first = (await pg.fetch(BACKEND_PID, {}))[0][0]
    assert held(pg).held == 0
    assert pg.engine.pool.checkedout() == 0
    assert (await pg.fetch(BACKEND_PID, {}))[0][0] == first  # the pool lent it out again


async def test_close_gives_idle_connections_back_and_later_fetches_use_the_pool(
    pg: Database,
) -> None:
    await pg.fetch(BACKEND_PID, {})
    await held(pg).close()
    assert pg.engine.pool.checkedout() == 0
    assert len(await pg.fetch(BACKEND_PID, {})) == 1
    assert held(pg).held == 0
