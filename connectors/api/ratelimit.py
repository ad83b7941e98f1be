"""Per-client request limits, shared by every server process through the database.

Counting every request in a shared row would put a write on a hot row in every read
(and, on PostgreSQL, queue each client's requests behind one row lock). Instead each
process counts locally and, at most once a second, adds its counts to the client's
row for the current window and reads back the total of all processes. A client is
refused when what every process had reported at the last sync, plus what this process
has counted since, reaches the limit: at most one sync interval of other processes'
requests can slip past. Fixed windows: a client can reach twice the limit across a
window boundary, the usual trade for one row per client per window.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from sqlalchemy import delete, select

from connectors.models import RateLimitWindow
from pds.db import finish, upsert_insert
from pds.errors import RateLimited

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

log = logging.getLogger("pds.connectors.ratelimit")

DEFAULT_LIMIT: Final = 6000
"""Requests per client per window (100 a second sustained): room for a busy council
system, a ceiling for a runaway one."""
WINDOW: Final = 60
SYNC_INTERVAL: Final = 1.0


@dataclass(slots=True)
class RateLimiter:
    limit: int = DEFAULT_LIMIT
    window: int = WINDOW
    sync_interval: float = SYNC_INTERVAL
    _unsynced: defaultdict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    _shared: dict[tuple[str, int], int] = field(default_factory=dict)
    _synced_at: float = 0.0
    _task: asyncio.Task[None] | None = None

    def take(self, client_id: str, now: float) -> None:
        """Count one request, or raise ``RateLimited`` with the seconds until the window ends."""
        key = (client_id, int(now) // self.window)
        used = self._shared.get(key, 0) + self._unsynced[key]
        if used >= self.limit:
            retry_after = self.window - int(now) % self.window
            raise RateLimited(
                f"This client may make {self.limit} requests a {self.window}-second window.",
                retry_after=max(1, retry_after),
            )
        self._unsynced[key] += 1

    def maybe_sync(self, sessions: async_sessionmaker[AsyncSession], now: float) -> None:
        """Start a background sync if the last one is older than the interval."""
        if now - self._synced_at < self.sync_interval:
            return
        if self._task is not None and not self._task.done():
            return
        self._synced_at = now
        self._task = asyncio.create_task(self._sync_logged(sessions, now))

    async def _sync_logged(self, sessions: async_sessionmaker[AsyncSession], now: float) -> None:
        try:
            await self.sync(sessions, now)
        except Exception:  # the next sync retries; requests go on counted locally
            log.warning("rate-limit sync failed; counts kept for the next one", exc_info=True)

    async def sync(self, sessions: async_sessionmaker[AsyncSession], now: float) -> None:
        """Add this process's counts to the shared rows and learn every process's totals for
        the current window (for every client, not only those this process has seen lately)."""
        pending, self._unsynced = self._unsynced, defaultdict(int)
        current = int(now) // self.window
        try:
            async with sessions() as session, session.begin():
                for (client_id, window), count in pending.items():
                    await _add(session, client_id, window, count)
                totals = await session.execute(
                    select(RateLimitWindow.client_id, RateLimitWindow.count).where(
                        RateLimitWindow.window == current
                    )
                )
                shared = {(client_id, current): count for client_id, count in totals}
                await session.execute(
                    delete(RateLimitWindow).where(RateLimitWindow.window < current - 1)
                )
        except Exception:
            # The counts were not stored: keep them for the next sync rather than lose them.
            for key, count in pending.items():
                self._unsynced[key] += count
            raise
        self._shared = shared  # every process's counts in the current window

    async def close(self) -> None:
        """Let an in-flight transaction finish before the database is disposed: a task
        cancelled mid-transaction can leave its connection holding SQLite's write lock."""
        await finish(self._task)


async def _add(session: AsyncSession, client_id: str, window: int, count: int) -> int:
    """One upsert that adds ``count`` and answers the new total (both backends)."""
    table = RateLimitWindow.__table__
    insert = upsert_insert(session.get_bind().dialect.name)
    values = insert(table).values(client_id=client_id, window=window, count=count)
    upsert = values.on_conflict_do_update(
        index_elements=["client_id", "window"],
        set_={"count": table.c.count + values.excluded.count},
    ).returning(table.c.count)
    return int((await session.execute(upsert)).scalar_one())
