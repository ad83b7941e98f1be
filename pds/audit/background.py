"""The audit sequencer as ``pds serve`` runs it: on an event loop of its own, in a thread.

A batch is a dozen statements in one writing transaction. On the server's loop each of
them waits behind whatever requests that loop is busy with, so under load one batch
held SQLite's single writer for hundreds of milliseconds while the reads' group commits
queued behind it. On a loop of its own its statements are served at once.

On SQLite the server's loop still holds this process's writing connection (the gate
every writer here queues on, see ``pds.db.open_database``) for the length of the batch,
so no writer in this process runs into the sequencer's lock and SQLite's sleep-and-poll
busy handler. On PostgreSQL the sequencer's advisory lock is all it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Final

from pds.audit.sequencer import BATCH_SIZE, sequence_batch
from pds.db import open_database

if TYPE_CHECKING:
    import concurrent.futures
    from collections.abc import AsyncIterator

    from pds.db import Database
    from pds.keys.provider import KeyProvider
    from pds.settings import Settings

log = logging.getLogger("pds.audit.background")

REST_FACTOR: Final = 3
"""After a full batch, rest this many times as long as it took: requests first."""


class SequencerThread:
    """A thread running an event loop and a ``Database`` of its own for the sequencer."""

    def __init__(self, settings: Settings, keys: KeyProvider, origin: str) -> None:
        self._keys = keys
        self._origin = origin
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="audit-sequencer", daemon=True
        )
        self._thread.start()
        self._db = open_database(settings)
        self._running: concurrent.futures.Future[int] | None = None

    async def batch(self) -> int:
        """One batch on the sequencer's loop; how many entries it took in. Cancelling the
        caller does not cancel the batch: a transaction cut short can leave SQLite's
        write lock held by its connection."""
        work = sequence_batch(self._db, self._keys, self._origin)
        self._running = asyncio.run_coroutine_threadsafe(work, self._loop)
        return await asyncio.shield(asyncio.wrap_future(self._running))

    async def close(self) -> None:
        if self._running is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._running.result, 10)
        disposed = asyncio.run_coroutine_threadsafe(self._db.dispose(), self._loop)
        with contextlib.suppress(Exception):
            await asyncio.wrap_future(disposed)
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join, 5)
        if not self._thread.is_alive():
            self._loop.close()


@contextlib.asynccontextmanager
async def _gate(db: Database) -> AsyncIterator[None]:
    """SQLite: hold this process's writing connection; elsewhere nothing to hold."""
    if not db.is_sqlite:
        yield
        return
    async with db.write_engine.connect():
        yield


async def sequence_in_background(
    db: Database, settings: Settings, keys: KeyProvider, origin: str, interval: float = 1.0
) -> None:
    """The loop ``pds serve`` runs: one batch a turn; errors are logged, never fatal."""
    runner = SequencerThread(settings, keys, origin)
    try:
        while True:
            started = time.monotonic()
            count = 0
            try:
                async with _gate(db):
                    count = await runner.batch()
            except Exception:  # the server must keep serving; the next turn retries
                log.exception("audit sequencing failed")
            took = time.monotonic() - started
            await asyncio.sleep(REST_FACTOR * took if count >= BATCH_SIZE else interval)
    finally:
        await asyncio.shield(runner.close())
