"""PostgreSQL connections kept for the hot path's one-statement reads (``Database.fetch``).

Checking a connection out of SQLAlchemy's async pool and returning it costs more CPU
than the query it carries: both cross into a greenlet, and the return resets the
connection (measured inside the server under load: 14% of a connector read's CPU, more
than the 4 KiB evidence query itself). A fetch is one statement in autocommit and
leaves nothing behind on its connection, so none of that is needed: a few connections
are taken from the pool once, kept, and each lent to one fetch at a time. When all are
lent, a fetch takes one from the pool the usual way.

A fetch that fails throws its connection away (it may be the one the server dropped);
a kept connection older than the pool's recycle time goes back to the pool, as every
pooled connection would.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.util.concurrency import greenlet_spawn

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.pool import PoolProxiedConnection

    from pds.plain_select import PlainSelect, Row


class HeldConnections:
    """Up to ``size`` pooled connections kept out of the pool for ``fetch``."""

    def __init__(self, engine: AsyncEngine, *, size: int, recycle: float) -> None:
        self._engine = engine
        self._size = size
        self._recycle = recycle
        self._idle: list[tuple[PoolProxiedConnection, float]] = []
        self.held = 0
        """Connections kept now, idle or lent (each checked out of the pool)."""
        self._closed = False

    async def fetch(self, query: PlainSelect, values: Mapping[str, Any]) -> list[Row]:
        """The rows of ``query`` on a kept connection, or on a pooled one when all are lent."""
        if not self._idle and (self.held >= self._size or self._closed):
            return await self._on_pooled(query, values)
        if self._idle:
            pooled, since = self._idle.pop()
        else:
            self.held += 1  # counted before the await, so concurrent fetches respect size
            try:
                pooled, since = await self._engine.raw_connection(), time.monotonic()
            except BaseException:
                self.held -= 1
                raise
        try:
            rows = await query.on_asyncpg(pooled.driver_connection, self._engine.dialect, values)
        except BaseException:
            await self._let_go(pooled, invalidate=True)
            raise
        if self._closed or time.monotonic() - since >= self._recycle:
            await self._let_go(pooled)
        else:
            self._idle.append((pooled, since))
        return rows

    async def close(self) -> None:
        """Give every idle connection back to the pool; lent ones go back when returned."""
        self._closed = True
        while self._idle:
            await self._let_go(self._idle.pop()[0])

    async def _let_go(self, pooled: PoolProxiedConnection, *, invalidate: bool = False) -> None:
        self.held -= 1
        # Closing (or discarding) an asyncpg connection awaits, which SQLAlchemy does only
        # inside its greenlet.
        await greenlet_spawn(pooled.invalidate if invalidate else pooled.close)

    async def _on_pooled(self, query: PlainSelect, values: Mapping[str, Any]) -> list[Row]:
        pooled = await self._engine.raw_connection()
        try:
            return await query.on_asyncpg(pooled.driver_connection, self._engine.dialect, values)
        finally:
            await greenlet_spawn(pooled.close)
