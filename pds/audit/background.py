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

That share was not enough on PostgreSQL, where the sequencer places every read's entry
(on SQLite the group commit does): at sustained full load the backlog grew by ~200
entries a second for as long as the load lasted. So the pause is bounded by the lag:
once the oldest waiting entry is older than ``LAG_LIMIT``, the sequencer rests only as
long as its batch took (half the loop instead of a quarter) until it is back within it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Final

from sqlalchemy import select

from pds.audit.models import AuditEntry
from pds.audit.sequencer import sequence_batch
from pds.db import finish, utcnow

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
LAG_LIMIT: Final = 5.0
"""Seconds the oldest waiting entry may wait before the sequencer takes a larger share."""
CATCH_UP_REST_FACTOR: Final = 1.0
"""The rest after a full batch while the backlog is past ``LAG_LIMIT``."""
_OLDEST_WAITING: Final = (
    select(AuditEntry.created_at)
    .where(AuditEntry.leaf_index.is_(None))
    .order_by(AuditEntry.id)
    .limit(1)
)
"""Through the pending index (``ix_audit_entries_pending``): one row, however long the log."""


def pause(took: float, placed: int, behind: float | None, *, interval: float) -> float:
    """Seconds to rest after a batch that took ``took`` and placed ``placed`` entries,
    the oldest entry still waiting being ``behind`` seconds old (None: none waits)."""
    if placed < SERVE_BATCH:
        return interval  # caught up: the next turn comes round on its own
    if behind is not None and behind > LAG_LIMIT:
        return CATCH_UP_REST_FACTOR * took
    return REST_FACTOR * took


async def _behind(db: Database) -> float | None:
    """How long the oldest entry not yet in the tree has waited; None when none waits
    (or when that cannot be read: the usual pace is kept)."""
    try:
        oldest = await db.run_read(lambda session: session.scalar(_OLDEST_WAITING))
    except Exception:  # the server must keep serving; the next turn asks again
        log.exception("reading the audit backlog failed")
        return None
    return None if oldest is None else (utcnow() - oldest).total_seconds()


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
        count, behind = 0, None
        try:
            count = await _batch(db, keys, origin, sign_full=sign_full)
        except Exception:  # the server must keep serving; the next turn retries
            log.exception("audit sequencing failed")
        else:
            if sign_full or count < SERVE_BATCH:
                signed_at = started
            if count >= SERVE_BATCH:
                behind = await _behind(db)
        took = time.monotonic() - started
        await asyncio.sleep(pause(took, count, behind, interval=interval))
