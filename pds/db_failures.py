"""Which database failures are the service being unavailable for a moment, not a bug.

A caller should be told to come back (503 with ``Retry-After``) when the database is
overloaded or out of reach: SQLite's write lock not free within the busy timeout, this
process's connections all taken for longer than the pool waits, a PostgreSQL
connection the server dropped (a restart, a failover, an administrator), a server that
refuses connections or is starting up or shutting down. Anything else a database raises
is a fault of ours (500, logged).

Errors arrive in three shapes: wrapped by SQLAlchemy (``DBAPIError``, with the driver's
error as ``orig`` and its own verdict on disconnects in ``connection_invalidated``), raw
from asyncpg on the hot path's kept connections (``pds.held_reads``), or as the socket
error of a connection attempt. ``known_closed`` lets a connection the driver has seen
close be swapped before use. Pure: no I/O, only the exception (and its causes) or the
driver's own flag.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

import asyncpg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout


class ConnectionLost(ConnectionError):
    """A query failed on a connection the server has closed (``pds.held_reads``)."""


class Unavailable(StrEnum):
    BUSY = "busy"
    """Overloaded: the write lock or a connection was not free in time."""
    UNREACHABLE = "unreachable"
    """The connection is gone or cannot be made."""


_UNREACHABLE: Final = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and "connection was closed"
    asyncpg.exceptions.AdminShutdownError,  # 57P01
    asyncpg.exceptions.CrashShutdownError,  # 57P02
    asyncpg.exceptions.CannotConnectNowError,  # 57P03: starting up, or in recovery
    ConnectionError,  # refused, reset or aborted at the socket; ConnectionLost
)
_BUSY: Final = (PoolTimeout, asyncpg.exceptions.TooManyConnectionsError)
_SQLITE_BUSY: Final = ("database is locked", "database table is locked")
_MAX_DEPTH: Final = 8


def known_closed(driver_connection: Any) -> bool:
    """Whether asyncpg already knows this connection is closed (the server closed the
    socket and the event loop saw it): a flag, no round trip. False for anything else."""
    is_closed = getattr(driver_connection, "is_closed", None)
    return callable(is_closed) and bool(is_closed())


def unavailable(exc: BaseException) -> Unavailable | None:
    """Why ``exc`` means "try again shortly", or None when it is a fault."""
    seen: BaseException | None = exc
    for _ in range(_MAX_DEPTH):
        if seen is None:
            return None
        found = _judge(seen)
        if found is not None:
            return found
        seen = seen.__cause__
    return None


def _judge(exc: BaseException) -> Unavailable | None:
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return Unavailable.UNREACHABLE
        if any(words in str(exc.orig) for words in _SQLITE_BUSY):
            return Unavailable.BUSY
        return None
    if isinstance(exc, _BUSY):
        return Unavailable.BUSY
    if isinstance(exc, _UNREACHABLE):
        return Unavailable.UNREACHABLE
    return None
