"""The audit sequencer as ``pds serve`` runs it: a task on the server's own event loop.

A batch is one hop off the loop (``Database.run_write``): its statements run
together on a blocking connection, so requests queued on the loop do not stretch
a transaction that holds the single writer (SQLite's lock, or on PostgreSQL the
sequencer's advisory lock) while they wait their turn. On SQLite ``run_write``
also holds this process's writing connection, the gate every writer here queues
on (see ``pds.db.open_database``), so no writer in this process runs into the
batch's lock and SQLite's sleep-and-poll busy handler.

After a full batch the loop rests a multiple of what it took, so a backlog is
worked off at a pace that leaves the requests most of the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Final

from pds.audit.sequencer import BATCH_SIZE, sequence_batch
from pds.db import finish

if TYPE_CHECKING:
    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.audit.background")

REST_FACTOR: Final = 3
"""After a full batch, rest this many times as long as it took: requests first."""


async def _batch(db: Database, keys: KeyProvider, origin: str) -> int:
    """One batch; how many entries it took in. Cancelling the caller waits for the batch
    (cut short only past the busy timeout): on SQLite it runs in a thread that would go on
    holding the write lock after the gate was let go, and a rollback wastes the work."""
    running = asyncio.ensure_future(sequence_batch(db, keys, origin))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await finish(running)
        raise


async def sequence_in_background(
    db: Database, keys: KeyProvider, origin: str, interval: float = 1.0
) -> None:
    """The loop ``pds serve`` runs: one batch a turn; errors are logged, never fatal."""
    while True:
        started = time.monotonic()
        count = 0
        try:
            count = await _batch(db, keys, origin)
        except Exception:  # the server must keep serving; the next turn retries
            log.exception("audit sequencing failed")
        took = time.monotonic() - started
        await asyncio.sleep(REST_FACTOR * took if count >= BATCH_SIZE else interval)
