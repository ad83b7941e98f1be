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
import functools
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from sqlalchemy import delete, select

from connectors.models import RateLimitWindow
from pds.db import finish, upsert_insert
from pds.errors import RateLimited

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from pds.db import Database

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

    def maybe_sync(self, db: Database, now: float) -> None:
        """Start a background sync if the last one is older than the interval."""
        if now - self._synced_at < self.sync_interval:
            return
        if self._task is not None and not self._task.done():
            return
        self._synced_at = now
        self._task = asyncio.create_task(self._sync_logged(db, now))

    async def _sync_logged(self, db: Database, now: float) -> None:
        try:
            await self.sync(db, now)
        except Exception:  # the next sync retries; requests go on counted locally
            log.warning("rate-limit sync failed; counts kept for the next one", exc_info=True)

    async def sync(self, db: Database, now: float) -> None:
        """Add this process's counts to the shared rows and learn every process's totals for
        the current window (for every client, not only those this process has seen lately).

        A handful of short statements in one brief write (``Database.run_write``): under
        load, the same statements through an async session held SQLite's write lock, and
        so every read's group commit, for tens of milliseconds."""
        pending, self._unsynced = self._unsynced, defaultdict(int)
        current = int(now) // self.window
        try:
            shared = await db.run_write(
                functools.partial(_store_and_total, pending=pending, current=current),
                brief=True,
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


def _store_and_total(
    connection: Connection, *, pending: dict[tuple[str, int], int], current: int
) -> dict[tuple[str, int], int]:
    table = RateLimitWindow.__table__
    insert = upsert_insert(connection.dialect.name)
    for (client_id, window), count in pending.items():
        values = insert(table).values(client_id=client_id, window=window, count=count)
        connection.execute(
            values.on_conflict_do_update(
                index_elements=["client_id", "window"],
                set_={"count": table.c.count + values.excluded.count},
            )
        )
    totals = connection.execute(
        select(table.c.client_id, table.c.count).where(table.c.window == current)
    )
    shared = {(client_id, current): count for client_id, count in totals}
    connection.execute(delete(RateLimitWindow).where(RateLimitWindow.window < current - 1))
    return shared
