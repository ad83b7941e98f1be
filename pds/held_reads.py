"""PostgreSQL connections kept for the hot path's one-statement reads (``Database.fetch``).

Checking a connection out of SQLAlchemy's async pool and returning it costs more CPU
than the query it carries: both cross into a greenlet, and the return resets the
connection (measured inside the server under load: 14% of a connector read's CPU, more
than the 4 KiB evidence query itself). A fetch is one statement in autocommit and
leaves nothing behind on its connection, so none of that is needed: a few connections
are taken from the pool once, kept, and each lent to one fetch at a time. When all are
lent, a fetch waits its turn for one (first come, first served): a fetch is over in well
under a millisecond, and measured inside the server at 32 connections, waiting used
7-9% less CPU a read than taking a pooled connection meanwhile (20 alternating pairs in
two runs, paired medians 0.91 and 0.93). A fetch that has waited ``WAIT_LIMIT`` without
a turn (a kept connection stuck on a slow server) takes one from the pool instead.

A fetch that fails throws its connection away (it may be the one the server dropped:
then it raises ``ConnectionLost``, which callers are told to retry); a kept connection
the driver already knows is closed (a server restart) is let go before it is lent, so
the fetch never meets it; one older than the pool's recycle time goes back to the pool,
as every pooled connection would.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.util.concurrency import greenlet_spawn

from pds.db_failures import ConnectionLost, known_closed

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.pool import PoolProxiedConnection

    from pds.plain_select import PlainSelect, Row

    Lent = tuple[PoolProxiedConnection, float]
    """A kept connection and when it was taken from the pool."""

WAIT_LIMIT: Final = 0.1
"""Seconds a fetch waits for a kept connection before it takes a pooled one."""


class HeldConnections:
    """Up to ``size`` pooled connections kept out of the pool for ``fetch``."""

    def __init__(self, engine: AsyncEngine, *, size: int, recycle: float) -> None:
        self._engine = engine
        self._size = size
        self._recycle = recycle
        self._idle: list[Lent] = []
        self._waiting: deque[asyncio.Future[Lent | None]] = deque()
        """Fetches waiting for a kept connection, oldest first. None wakes one to use the
        pool (a kept connection was let go, or all are being given back)."""
        self.held = 0
        """Connections kept now, idle or lent (each checked out of the pool)."""
        self._closed = False

    async def fetch(self, query: PlainSelect, values: Mapping[str, Any]) -> list[Row]:
        """The rows of ``query`` on a kept connection, or on a pooled one (see the module)."""
        lent = await self._lend()
        if lent is None:
            return await self._on_pooled(query, values)
        pooled, since = lent
        try:
            rows = await self._run(pooled, query, values)
        except BaseException:
            await self._let_go(pooled, invalidate=True)
            raise
        if self._closed or time.monotonic() - since >= self._recycle:
            await self._let_go(pooled)
        else:
            self._hand_on((pooled, since))
        return rows

    async def _lend(self) -> Lent | None:
        """An idle kept connection, a newly kept one, or one another fetch hands on; None:
        use the pool."""
        while self._idle:
            lent = self._idle.pop()
            if not known_closed(lent[0].driver_connection):
                return lent
            await self._let_go(lent[0], invalidate=True)  # the server closed it meanwhile
        if self._closed:
            return None
        if self.held < self._size:
            self.held += 1  # counted before the await, so concurrent fetches respect size
            try:
                return await self._engine.raw_connection(), time.monotonic()
            except BaseException:
                self.held -= 1
                raise
        turn: asyncio.Future[Lent | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            # On timeout wait_for cancels the turn, so it is never handed a connection
            # afterwards; one handed on just before is returned, not lost.
            return await asyncio.wait_for(turn, WAIT_LIMIT)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and (handed := turn.result()) is not None:
                self._hand_on(handed)  # this fetch gave up: the connection goes on
            raise

    def _hand_on(self, lent: Lent) -> None:
        """To the longest-waiting fetch, else back to the idle ones."""
        if not self._wake(lent):
            self._idle.append(lent)

    def _wake(self, lent: Lent | None) -> bool:
        """Give ``lent`` (None: use the pool) to the longest-waiting fetch still waiting;
        whether there was one."""
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(lent)
                return True
        return False

    async def close(self) -> None:
        """Give every idle connection back to the pool; lent ones go back when returned."""
        self._closed = True
        while self._wake(None):
            pass
        while self._idle:
            await self._let_go(self._idle.pop()[0])

    async def _let_go(self, pooled: PoolProxiedConnection, *, invalidate: bool = False) -> None:
        self.held -= 1
        self._wake(None)  # the place it leaves is not handed on: a waiting fetch uses the pool
        # Closing (or discarding) an asyncpg connection awaits, which SQLAlchemy does only
        # inside its greenlet.
        await greenlet_spawn(pooled.invalidate if invalidate else pooled.close)

    async def _on_pooled(self, query: PlainSelect, values: Mapping[str, Any]) -> list[Row]:
        pooled = await self._engine.raw_connection()
        try:
            return await self._run(pooled, query, values)
        finally:
            await greenlet_spawn(pooled.close)

    async def _run(
        self, pooled: PoolProxiedConnection, query: PlainSelect, values: Mapping[str, Any]
    ) -> list[Row]:
        """The query on ``pooled``; a failure that leaves the connection closed (the server
        dropped it: asyncpg says "connection is closed" or "closed in the middle of
        operation", by how far it got) is raised as ``ConnectionLost``, which callers are
        told to retry, not as whatever asyncpg's wording was."""
        connection = pooled.driver_connection
        try:
            return await query.on_asyncpg(connection, self._engine.dialect, values)
        except Exception as exc:
            if known_closed(connection):
                raise ConnectionLost("the database server closed the connection") from exc
            raise
