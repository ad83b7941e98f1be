"""The audit sequencer as ``pds serve`` runs it: a task on the server's own event loop.

Under load the sequencer competes with the requests for one interpreter. A large batch
in a worker thread took 30-80 ms of wall time however few its entries, since each of its
statements waited for the busy loop to let go of the GIL, and for all that time it held
SQLite's write lock, so every read's group commit queued behind it (the slowest 1% of
reads). Here batches are small (``SERVE_BATCH``) and brief: on SQLite each runs right
on the loop when the write lock is free (``Database.run_write(brief=True)``), a few
milliseconds at a time; after a full batch the loop rests a multiple of what it took,
so a backlog is worked off while the requests keep most of the process. A checkpoint
is signed at most once a ``CHECKPOINT_INTERVAL`` while a backlog lasts, and whenever it
is cleared.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Final

from pds.audit.sequencer import sequence_batch
from pds.db import finish

if TYPE_CHECKING:
    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.audit.background")

REST_FACTOR: Final = 3
"""After a full batch, rest this many times as long as it took: requests first."""
SERVE_BATCH: Final = 100
"""Entries a batch takes in while serving: about 5 ms of work."""
CHECKPOINT_INTERVAL: Final = 1.0
"""Seconds between checkpoints while a backlog is worked off."""


async def _batch(db: Database, keys: KeyProvider, origin: str, *, sign_full: bool) -> int:
    """One batch; how many entries it took in. Cancelling the caller waits for the batch
    (cut short only past the busy timeout): on SQLite it may run in a thread that would go
    on holding the write lock after the gate was let go, and a rollback wastes the work."""
    work = sequence_batch(db, keys, origin, SERVE_BATCH, brief=True, sign_full=sign_full)
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await finish(running)
        raise


async def sequence_in_background(
    db: Database, keys: KeyProvider, origin: str, interval: float = 1.0
) -> None:
    """The loop ``pds serve`` runs: one batch a turn; errors are logged, never fatal."""
    signed_at = time.monotonic()
    while True:
        started = time.monotonic()
        sign_full = started - signed_at >= CHECKPOINT_INTERVAL
        count = 0
        try:
            count = await _batch(db, keys, origin, sign_full=sign_full)
        except Exception:  # the server must keep serving; the next turn retries
            log.exception("audit sequencing failed")
        else:
            if sign_full or count < SERVE_BATCH:
                signed_at = started
        took = time.monotonic() - started
        await asyncio.sleep(REST_FACTOR * took if count >= SERVE_BATCH else interval)
