"""The embedded SQLite database, driven directly from the event loop where that is cheap.

Reads in WAL mode take no lock and an indexed query takes microseconds, while the
async driver pays three thread hand-offs per statement (~0.3 ms each under load,
measured): hot reads run right here, on a connection per thread held open in
autocommit (so no snapshot is kept between calls).

Short writes (the read path's group commit) are tried right here too, when the write
lock is free this instant: the inline writer's busy timeout is zero, so a lock held
anywhere (a session writer of this process between two statements, a batch in a
worker thread, another process) answers "busy" at once instead of blocking the loop,
and the caller takes the gated path in a worker thread. The inline writer does no
automatic WAL checkpoint, whose fsyncs would run on the loop; a worker thread folds
the WAL back every ``CHECKPOINT_EVERY`` inline commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import TYPE_CHECKING, Final, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection, Engine

T = TypeVar("T")

CHECKPOINT_EVERY: Final = 500
"""Inline commits between two WAL checkpoints (SQLite's own default is every 1,000 pages)."""
INLINE_OPTION: Final = "pds_inline"
"""Execution option of the inline writer: its transactions are begun here, not by the
engine's ``begin`` event."""
_BUSY: Final = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED"})


def driver(connection: Connection) -> sqlite3.Connection:
    """The pysqlite connection under a blocking engine's ``connection``."""
    raw = connection.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    return raw


class DirectSqlite:
    """Per-thread reading and inline-writing connections of a blocking pysqlite engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    def reader(self) -> sqlite3.Connection:
        raw: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if raw is None:
            raw = self._local.reader = driver(self._open())
        return raw

    def begin_inline(self) -> Connection | None:
        """This thread's inline writer with SQLite's write lock taken, or None when the
        lock is held elsewhere right now."""
        connection = self._inline_writer()
        try:
            driver(connection).execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") not in _BUSY:
                raise
            return None
        return connection

    def write_inline(self, connection: Connection, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in the transaction ``begin_inline`` opened; commit or roll back."""
        raw = driver(connection)
        try:
            result = work(connection)
        except BaseException:
            connection.rollback()
            if raw.in_transaction:
                raw.rollback()
            raise
        connection.commit()
        if raw.in_transaction:
            raw.commit()
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            self._start_checkpoint()
        return result

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        for connection in self._opened:
            connection.close()
        self._opened.clear()
        self._local = threading.local()

    def _inline_writer(self) -> Connection:
        connection: Connection | None = getattr(self._local, "writer", None)
        if connection is None:
            connection = self._open().execution_options(**{INLINE_OPTION: True})
            raw = driver(connection)
            raw.execute("PRAGMA busy_timeout=0")
            raw.execute("PRAGMA wal_autocheckpoint=0")
            self._local.writer = connection
        return connection

    def _open(self) -> Connection:
        connection = self.engine.connect()
        self._opened.append(connection)
        return connection

    def _start_checkpoint(self) -> None:
        """PASSIVE: it never waits for, nor blocks, readers and writers."""
        if self._checkpoint is None or self._checkpoint.done():
            self._checkpoint = asyncio.get_running_loop().create_task(
                asyncio.to_thread(self._checkpoint_blocking)
            )

    def _checkpoint_blocking(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
