"""Which database failures are "try again shortly" (503) and which are faults (500)."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pds.db_failures import Unavailable, known_closed, unavailable


def wrapped(orig: Exception, *, invalidated: bool = False) -> DBAPIError:
    """As SQLAlchemy raises a driver error: ``orig`` inside, its disconnect verdict beside."""
    return OperationalError("SELECT 1", {}, orig, connection_invalidated=invalidated)


def caused_by(cause: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("a batch failed") from cause
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (wrapped(sqlite3.OperationalError("database is locked")), Unavailable.BUSY),
        (PoolTimeout("QueuePool limit of size 5 reached"), Unavailable.BUSY),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), Unavailable.BUSY),
        (
            wrapped(Exception("connection is closed"), invalidated=True),
            Unavailable.UNREACHABLE,
        ),
        (
            asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle of operation"),
            Unavailable.UNREACHABLE,
        ),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), Unavailable.UNREACHABLE),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), Unavailable.UNREACHABLE),
        (ConnectionRefusedError(111, "Connection refused"), Unavailable.UNREACHABLE),
        (ConnectionResetError(104, "Connection reset by peer"), Unavailable.UNREACHABLE),
        (caused_by(ConnectionResetError()), Unavailable.UNREACHABLE),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value,
)
def test_a_moment_of_unavailability_is_recognised(
    exc: BaseException, expected: Unavailable
) -> None:
    assert unavailable(exc) is expected


@pytest.mark.parametrize(
    "exc",
    [
        wrapped(sqlite3.OperationalError("no such table: grants")),
        IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        asyncpg.exceptions.DivisionByZeroError("division by zero"),
        asyncpg.exceptions.UndefinedTableError('relation "grants" does not exist'),
        ValueError("not a database problem"),
        caused_by(KeyError("items")),
    ],
    ids=lambda exc: f"{type(exc).__name__}:{exc}"[:60],
)
def test_faults_are_not_mistaken_for_unavailability(exc: BaseException) -> None:
    assert unavailable(exc) is None


def test_a_cycle_of_causes_ends() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first

    assert unavailable(first) is None


class Driver:
    def __init__(self, closed: bool) -> None:
        self.closed = closed

    def is_closed(self) -> bool:
        return self.closed


@pytest.mark.parametrize(
    ("connection", "expected"),
    [(Driver(closed=True), True), (Driver(closed=False), False), (None, False), (object(), False)],
    ids=["closed", "open", "none", "not a driver connection"],
)
def test_known_closed_reads_the_drivers_flag_only(connection: object, expected: bool) -> None:
    assert known_closed(connection) is expected
